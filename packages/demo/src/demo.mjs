// The rave-level demo (`pnpm demo`): worker processes share one LevelDB database. Whoever holds
// the LevelDB lock leads; the others follow over a unix socket. Every --kill-every seconds the
// current leader is killed with SIGKILL (no chance to clean up) and a replacement worker starts.
// At the end every acknowledged order is read back and the checks decide the exit code.
// On a terminal the run is a live view redrawn in place; otherwise plain progress lines.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from './cluster.mjs'
import { plural } from './format.mjs'
import { LiveView } from './live-view.mjs'
import { parseOptions } from './options.mjs'
import { ProgressLog } from './progress-log.mjs'
import { checks, summary } from './summary.mjs'
import { verifyOrders } from './verify.mjs'

const WAIT = 15_000
const options = parseOptions(process.argv.slice(2))

// A temporary database is removed however the run ends; a --location is kept.
const temp = options.location === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'rave-demo-')) : undefined
// A relative --location is meant from where the user ran `pnpm demo` (pnpm runs it from the root).
const location =
  temp === undefined ? path.resolve(process.env.INIT_CWD ?? '.', options.location) : path.join(temp, 'db')
const removeTemp = () => temp !== undefined && fs.rmSync(temp, { recursive: true, force: true })
process.on('exit', removeTemp)

// When the reader goes away (`pnpm demo | head`), stdout fails with EPIPE: stop quietly.
let quiet = false
const write = (text) => quiet || process.stdout.write(text)
process.stdout.on('error', () => {
  quiet = true
  interrupt('EPIPE')
})
// Ctrl-C, `kill`, and a closed terminal window (SIGHUP) end the run the same way.
const EXIT_CODES = { SIGINT: 130, SIGHUP: 129, SIGTERM: 143 }
for (const signal of Object.keys(EXIT_CODES)) process.on(signal, () => interrupt(signal))

const started = Date.now()
const plannedKills = options.killEvery > 0 ? Math.ceil(options.duration / options.killEvery) - 1 : 0
// The clock of the run (--duration, --kill-every) starts once the first leader is elected.
let phase = 'starting workers'
let view
const cluster = new Cluster({ location, run: started.toString(36), started, onEvent: (text) => view.event(text) })
const state = {
  cluster,
  options,
  plannedKills,
  end: started + options.duration,
  phase: () => phase,
  columns: () => process.stdout.columns || 80
}
view = process.stdout.isTTY ? new LiveView(write, state) : new ProgressLog(write, state)

let interrupted
/** A signal or a broken pipe: kill the workers, remove the temporary folder, exit. */
async function interrupt(reason) {
  if (interrupted !== undefined) {
    if (reason === 'SIGINT') process.exit(130) // a second Ctrl-C: do not wait
    return
  }
  interrupted = reason
  await cluster.abort()
  if (reason === 'EPIPE') process.exit(0)
  view.close()
  write(
    `\nInterrupted (${reason}): workers stopped${temp === undefined ? '' : ', temporary database removed'}, nothing verified.\n`
  )
  process.exit(EXIT_CODES[reason])
}

/** Wait until `condition()` holds (true) or `ms` passed (false). */
async function until(condition, ms) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}

async function main() {
  if (!process.stdout.isTTY) {
    const kills =
      plannedKills === 0
        ? 'no leader kills'
        : `the leader SIGKILLed every ${options.killEvery / 1000} s (${plural(plannedKills, 'time')})`
    write(`rave-level demo: ${options.workers} workers for ${options.duration / 1000} s, ${kills}\n`)
    write(`database ${location}${temp === undefined ? '' : ' (temporary, removed at the end)'}\n`)
  }
  for (let i = 0; i < options.workers; i++) cluster.spawn()
  const ticker = setInterval(() => view.render(), 200)
  let verification = { checked: 0, missing: [], wrong: [], stored: 0 }
  try {
    await until(() => cluster.leader !== undefined, WAIT)
    const t0 = Date.now()
    state.end = t0 + options.duration
    phase = 'running'
    for (let k = 1; k <= plannedKills; k++) {
      await sleep(Math.max(0, t0 + k * options.killEvery - Date.now()))
      // The previous failover may still be under way: kill only an elected leader.
      if (!(await until(() => cluster.leader !== undefined, WAIT))) break
      await cluster.killLeader(WAIT)
    }
    await sleep(Math.max(0, state.end - Date.now()))
    await until(() => cluster.kills.every((kill) => kill.next !== undefined), WAIT)
    phase = 'stopping workers'
    await cluster.stop(WAIT)
    phase = 'verifying'
    const acked = new Map([...cluster.workers.values()].map((worker) => [worker.name, worker.stats.acked]))
    verification = await verifyOrders(location, cluster.run, acked)
    phase = 'done'
  } finally {
    clearInterval(ticker)
  }
  view.close()
  const results = checks({ cluster, verification, plannedKills })
  for (const line of summary({ cluster, verification, results, options })) write(`${line}\n`)
  if (temp === undefined)
    write(
      `\nThe database is kept at ${location}. Look into it from the checkout: npx -y pnpm@12.4.2 rave-level ls ${location} --limit 5\n`
    )
  return results.every((check) => check.ok) ? 0 : 1
}

main().then(
  (code) => {
    if (interrupted === undefined) process.exit(code)
  },
  async (err) => {
    if (interrupted !== undefined) return
    process.stderr.write(`demo: ${err.stack ?? err}\n`)
    await cluster.abort()
    process.exit(1)
  }
)
