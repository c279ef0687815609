// Pipelined put and get: many operations in flight, as a busy server or a bulk load issues them.
import { cell, rate, table, times } from '../format.mjs'
import { newLocation } from '../procs.mjs'
import { interleave, ratios, series } from '../stats.mjs'
import { SUBJECTS, withSubject } from '../subjects.mjs'

const OPS = ['put', 'get']

export function run(config) {
  return interleave('pipelined', config.rounds, Object.keys(SUBJECTS), (subject) =>
    withSubject(subject, newLocation(), (worker, role) =>
      worker.call('pipelined', { n: config.pipelined, window: config.window, role })
    )
  )
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
      `pipelined ops/s (${config.window} in flight; ${config.pipelined} ops; median [min-max] of ${config.rounds} rounds)`,
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
