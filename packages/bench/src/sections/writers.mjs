// Many writers: 1 and then 4 follower processes writing at once to one leader (with the
// harness, six processes on this machine's cores), sequentially and pipelined, ours and
// upstream. The writers start and stop at the same instants of the shared monotonic clock; the
// figure is every put that completed in the counted part of that interval, added up, per second.
// Each measurement has a fresh database; the processes (a leader and 4 writers per
// implementation) live through the section, since forking 5 processes per measurement would
// cost more than the measurements.
import { cell, counted, rate, table, times } from '../format.mjs'
import { newLocation, removeLocation, spawn } from '../procs.mjs'
import { interleave, ratios, series } from '../stats.mjs'
import { now } from '../workloads.mjs'

export const WRITERS = 4
const IMPLS = ['ours', 'upstream']
const MODES = ['sequential', 'pipelined']
const COUNTS = [1, WRITERS]
const LEAD_MS = 250 // from the command to the start: time for it to reach every writer

/** The name of one measurement, e.g. 'ours sequential x4'. */
export const subject = (impl, mode, count) => `${impl} ${mode} x${count}`

const ns = (ms) => BigInt(Math.round(ms * 1e6))

async function measure(name, config, processes) {
  const [impl, mode, count] = name.split(' ')
  const { leader, followers } = await processes(impl)
  const writers = followers.slice(0, Number(count.slice(1)))
  const location = newLocation()
  await leader.call('open', { impl, location, role: 'leader' })
  await Promise.all(writers.map((writer) => writer.call('open', { impl, location, role: 'follower' })))
  // The first quarter fills the pipelines and is not counted.
  const startAt = now() + ns(LEAD_MS)
  const countFrom = startAt + ns(config.writeMs / 4)
  const endAt = countFrom + ns(config.writeMs)
  const window = mode === 'sequential' ? 1 : config.window
  const results = await Promise.all(
    writers.map((writer, w) =>
      writer.call('write', {
        prefix: `w${w}-`,
        window,
        startAt: String(startAt),
        countFrom: String(countFrom),
        endAt: String(endAt),
        role: 'follower'
      })
    )
  )
  for (const writer of writers) await writer.call('close')
  await leader.call('close')
  removeLocation(location)
  const total = results.reduce((sum, result) => sum + result.count, 0)
  return { rate: total / (config.writeMs / 1000), late: Math.max(...results.map((result) => result.late)) }
}

export async function run(config) {
  const pools = {}
  const processes = (impl) =>
    (pools[impl] ??= Promise.all(Array.from({ length: WRITERS + 1 }, spawn)).then(([leader, ...followers]) => ({
      leader,
      followers
    })))
  const subjects = IMPLS.flatMap((impl) => MODES.flatMap((mode) => COUNTS.map((count) => subject(impl, mode, count))))
  try {
    return await interleave('writers', config.rounds, subjects, (name) => measure(name, config, processes))
  } finally {
    for (const pool of Object.values(pools)) {
      const { leader, followers } = await pool
      for (const worker of [...followers, leader]) await worker.stop()
    }
  }
}

/** Per round, the aggregate rate of `impl` with `mode` and `count` writers. */
export const aggregate = (samples, impl, mode, count) => series(samples, subject(impl, mode, count), 'rate')

export function report(samples, config) {
  const rows = []
  for (const mode of MODES) {
    for (const count of COUNTS) {
      const [ours, upstream] = IMPLS.map((impl) => aggregate(samples, impl, mode, count))
      rows.push([
        `${mode}, ${count} writer${count > 1 ? 's' : ''}`,
        cell(ours, rate),
        cell(upstream, rate),
        cell(ratios(ours, upstream), times)
      ])
    }
    const [ours, upstream] = IMPLS.map((impl) =>
      ratios(aggregate(samples, impl, mode, WRITERS), aggregate(samples, impl, mode, 1))
    )
    rows.push([`${mode}, ${WRITERS} / 1`, cell(ours, times), cell(upstream, times), ''])
  }
  const lines = [
    table(
      `writers: puts/s of all writers together (${config.writeMs} ms counted; pipelined: ${config.window} in flight each; median [min-max] of ${counted(config.rounds, 'round')})`,
      ['ours', 'upstream', 'ours / upstream'],
      rows
    )
  ]
  const late = Math.max(...Object.values(samples).flatMap((runs) => runs.map((result) => result.late)))
  // A writer that starts after the counting does overlaps the others less than the figure says.
  if (late > config.writeMs / 4)
    lines.push(`note: a writer started up to ${late.toFixed(0)} ms late, into the counted interval`)
  return lines
}
