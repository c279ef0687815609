// Many writers: 1 and then 4 follower processes writing at once to one leader (with the
// harness, six processes on this machine's cores), sequentially and pipelined, ours and
// upstream. The writers start and stop at the same instants of the shared monotonic clock; the
// figure is every put that completed in that interval, added up, per second.
import { cell, rate, table, times } from '../format.mjs'
import { newLocation } from '../procs.mjs'
import { interleave, ratios, series } from '../stats.mjs'
import { withCluster } from '../subjects.mjs'
import { now } from '../workloads.mjs'

export const WRITERS = 4
const IMPLS = ['ours', 'upstream']
const MODES = ['sequential', 'pipelined']
const COUNTS = [1, WRITERS]
const LEAD_MS = 250 // from the command to the start: time for it to reach every writer

/** The name of one measurement, e.g. 'ours sequential x4'. */
export const subject = (impl, mode, count) => `${impl} ${mode} x${count}`

async function measure(name, config) {
  const [impl, mode, count] = name.split(' ')
  return withCluster(impl, newLocation(), Number(count.slice(1)), async (writers) => {
    const startAt = now() + BigInt(LEAD_MS * 1e6)
    const endAt = startAt + BigInt(config.writeMs * 1e6)
    const window = mode === 'sequential' ? 1 : config.window
    const results = await Promise.all(
      writers.map((writer, w) =>
        writer.call('write', { prefix: `w${w}-`, window, startAt: String(startAt), endAt: String(endAt), role: 'follower' })
      )
    )
    const total = results.reduce((sum, result) => sum + result.count, 0)
    return { rate: total / (config.writeMs / 1000), late: Math.max(...results.map((result) => result.late)) }
  })
}

export function run(config) {
  const subjects = IMPLS.flatMap((impl) => MODES.flatMap((mode) => COUNTS.map((count) => subject(impl, mode, count))))
  return interleave('writers', config.rounds, subjects, (name) => measure(name, config))
}

/** Per round, the aggregate rate of `impl` with `mode` and `count` writers. */
export const aggregate = (samples, impl, mode, count) => series(samples, subject(impl, mode, count), 'rate')

export function report(samples, config) {
  const rows = []
  for (const mode of MODES) {
    for (const count of COUNTS) {
      const [ours, upstream] = IMPLS.map((impl) => aggregate(samples, impl, mode, count))
      rows.push([`${mode}, ${count} writer${count > 1 ? 's' : ''}`, cell(ours, rate), cell(upstream, rate), cell(ratios(ours, upstream), times)])
    }
    const [ours, upstream] = IMPLS.map((impl) => ratios(aggregate(samples, impl, mode, WRITERS), aggregate(samples, impl, mode, 1)))
    rows.push([`${mode}, ${WRITERS} / 1`, cell(ours, times), cell(upstream, times), ''])
  }
  const lines = [
    table(
      `writers: puts/s of all writers together (${config.writeMs} ms; pipelined: ${config.window} in flight each; median [min-max] of ${config.rounds} rounds)`,
      ['ours', 'upstream', 'ours / upstream'],
      rows
    )
  ]
  const late = Math.max(...Object.values(samples).flatMap((runs) => runs.map((result) => result.late)))
  if (late > config.writeMs / 20) lines.push(`note: a writer started up to ${late.toFixed(0)} ms late, so writers overlapped less`)
  return lines
}
