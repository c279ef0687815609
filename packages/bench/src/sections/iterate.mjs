// Iteration over the whole database (keys+values and keys only, entry by entry with `for await`
// and in batches with `all()`, which reads with nextv). Every subject of every round reads its
// own copy of one compacted database, so that all read the same files laid out the same way.
// The subjects take turns, one pass at a time.
import { KEY_BYTES, VALUE_BYTES } from '../data.mjs'
import { cell, counted, rate, table, times } from '../format.mjs'
import { copyOf, newLocation, spawn } from '../procs.mjs'
import { alternate, ratios, series } from '../stats.mjs'
import { openSubject, SUBJECTS } from '../subjects.mjs'
import { ITERATIONS } from '../workloads.mjs'

export const MODES = Object.keys(ITERATIONS)

/** A closed classic-level database of `n` populated entries, compacted: the template every copy is made from. */
export async function template(n) {
  const location = newLocation()
  const worker = await spawn()
  try {
    await worker.call('open', { impl: 'classic', location })
    await worker.call('populate', { n }, 600_000)
    await worker.call('close')
  } finally {
    await worker.stop()
  }
  return location
}

/** With `boundsOnly`, only classic-level (for `--only bounds`). */
export async function run(config, { boundsOnly = false } = {}) {
  const source = await template(config.entries)
  const n = config.entries
  return alternate('iterate', config.rounds, boundsOnly ? ['classic-level'] : Object.keys(SUBJECTS), {
    phases: MODES,
    chunks: config.passes,
    async setUp(subject) {
      const up = await openSubject(subject, copyOf(source))
      await up.worker.call('warmIterate', { n: Math.min(n, 1_000), role: up.role })
      return up
    },
    slice: ({ worker, role }, mode) => worker.call('pass', { mode, n, role })
  })
}

export function report(samples, config) {
  const subjects = Object.keys(SUBJECTS).filter((s) => samples[s] !== undefined)
  const of = (subject) => (mode) => ratios(series(samples, subject, mode), series(samples, 'classic-level', mode))
  return [
    table(
      `iterate entries/s (${config.entries} entries of ${KEY_BYTES}+${VALUE_BYTES} bytes, ${counted(config.passes, 'pass')}; median [min-max] of ${counted(config.rounds, 'round')})`,
      subjects,
      MODES.map((mode) => [mode, ...subjects.map((s) => cell(series(samples, s, mode), rate))])
    ),
    table(
      'iterate, fraction of classic-level (per round, then median [min-max])',
      ['ours follower', 'upstream follower', 'ours leader'],
      MODES.map((mode) => [
        mode,
        ...['ours follower', 'upstream follower', 'ours leader'].map((s) => cell(of(s)(mode), times))
      ])
    )
  ]
}
