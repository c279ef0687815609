// Pipelined put and get: many operations in flight, as a busy server or a bulk load issues them.
// The subjects take turns, one slice of each operation each (a slice of pipelined work has a
// fill and a drain, so the slices stay long).
import { cell, counted, rate, table, times } from '../format.mjs'
import { newLocation } from '../procs.mjs'
import { alternate, ratios, series } from '../stats.mjs'
import { openSubject, SUBJECTS } from '../subjects.mjs'

const OPS = ['put', 'get']

export function run(config) {
  const { pipelined: n, window } = config
  return alternate('pipelined', config.rounds, Object.keys(SUBJECTS), {
    phases: OPS,
    chunks: 1,
    async setUp(subject) {
      const up = await openSubject(subject, newLocation())
      await up.worker.call('warm', { ops: OPS, n: Math.min(n, 5 * window), window, role: up.role })
      return up
    },
    slice: ({ worker, role }, op) => worker.call('slice', { op, prefix: 'p', from: 0, count: n, window, role })
  })
}

export function report(samples, config) {
  const subjects = Object.keys(SUBJECTS)
  const columns = {
    'ours / upstream': ['ours follower', 'upstream follower'],
    'ours follower / classic': ['ours follower', 'classic-level'],
    'ours leader / classic': ['ours leader', 'classic-level']
  }
  return [
    table(
      `pipelined ops/s (${config.window} in flight; ${config.pipelined} ops; median [min-max] of ${counted(config.rounds, 'round')})`,
      subjects,
      OPS.map((op) => [op, ...subjects.map((s) => cell(series(samples, s, op), rate))])
    ),
    table(
      'pipelined, ratios (per round, then median [min-max])',
      Object.keys(columns),
      OPS.map((op) => [
        op,
        ...Object.values(columns).map(([a, b]) => cell(ratios(series(samples, a, op), series(samples, b, op)), times))
      ])
    )
  ]
}
