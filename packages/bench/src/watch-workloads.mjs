// The workloads of the watch section, run inside a worker process next to its database: a
// watcher that records when each change arrives, and a writer that records when each put was
// issued and acknowledged. Times are on the monotonic clock that every process of this machine
// shares (ms, as numbers), so that a change can be timed from one process to another.
import { value } from './data.mjs'

const ms = () => Number(process.hrtime.bigint()) / 1e6

let watch
let state
let ended

/**
 * Watch the keys under `prefix` (every key for ''), with values or not; resolves once the leader
 * registered the watch. Changes are counted, and under a prefix timed, until {@link stopWatching}.
 */
export async function startWatching(db, { prefix, values = true }) {
  const range = prefix === '' ? {} : { gte: prefix, lt: `${prefix}~` }
  watch = db.watch({ ...range, values })
  await watch.ready
  const seen = { count: 0, gaps: 0, arrivals: {} }
  state = seen
  ended = (async () => {
    for await (const change of watch) {
      if (change.type === 'gap') seen.gaps++
      else {
        seen.count++
        if (prefix !== '') seen.arrivals[change.key] = ms()
      }
    }
  })()
  return {}
}

/**
 * End the watch, once it saw `n` changes or `timeout` ms passed (at once without `n`): how many
 * changes and gaps it saw, and when each key under its prefix arrived.
 */
export async function stopWatching({ n = 0, timeout = 30_000 } = {}) {
  const deadline = ms() + timeout
  while (state.count < n && ms() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  await watch.close()
  await ended
  const result = state
  watch = undefined
  state = undefined
  return result
}

/**
 * Put `n` keys `<prefix><i>` one after another, `pauseMs` apart, recording when each was issued
 * and when it was acknowledged.
 */
export async function timedPuts(db, { prefix, n, pauseMs = 1 }) {
  const issued = []
  const acked = []
  for (let i = 0; i < n; i++) {
    issued.push(ms())
    await db.put(`${prefix}${i}`, value(i))
    acked.push(ms())
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  return { issued, acked }
}
