// Sequential put, get and del (one operation in flight), and the bounds they are held to: a bare
// two-process unix-socket ping-pong and classic-level's own sequential rate. A follower's
// sequential operation costs one round trip plus one classic-level operation on the leader, so
// its serial bound is 1 / (1/ping-pong + 1/classic-level).
import { cell, fraction, rate, table, times } from '../format.mjs'
import { newLocation, spawn } from '../procs.mjs'
import { interleave, ratios, series } from '../stats.mjs'
import { withSubject } from '../subjects.mjs'

export const OPS = ['put', 'get', 'del']
const BOUNDS = ['ping-pong', 'classic-level']
const SUBJECTS = [...BOUNDS, 'upstream follower', 'ours follower', 'ours leader']

/** Round trips per second between two fresh processes over a unix socket. */
async function pingPong(n) {
  const [server, client] = await Promise.all([spawn(), spawn()])
  try {
    const path = newLocation()
    await server.call('echo', { path })
    return await client.call('pingPong', { path, n })
  } finally {
    await client.stop()
    await server.stop()
  }
}

/** With `boundsOnly`, only ping-pong and classic-level (for `--only bounds`). */
export function run(config, { boundsOnly = false } = {}) {
  const subjects = boundsOnly ? BOUNDS : SUBJECTS
  return interleave('sequential', config.rounds, subjects, (subject) =>
    subject === 'ping-pong'
      ? pingPong(config.pingPongs)
      : withSubject(subject, newLocation(), (worker, role) => worker.call('sequential', { n: config.sequential, role }))
  )
}

/** Per round, the serial bound of a follower's sequential `op`. */
export const serialBound = (samples, op) =>
  samples['ping-pong'].map((pp, r) => 1 / (1 / pp.roundTrips + 1 / samples['classic-level'][r][op]))

export function report(samples, config) {
  const shown = SUBJECTS.slice(1).filter((s) => samples[s] !== undefined)
  const lines = [
    table(
      `sequential ops/s (one in flight; ${config.sequential} ops; median [min-max] of ${config.rounds} rounds)`,
      shown,
      OPS.map((op) => [op, ...shown.map((s) => cell(series(samples, s, op), rate))])
    )
  ]
  if (samples['ours follower'] === undefined) return lines
  const bound = (subject) => (op) => ratios(series(samples, subject, op), serialBound(samples, op))
  const versus = (a, b) => (op) => ratios(series(samples, a, op), series(samples, b, op))
  const columns = {
    'ours follower / bound': [bound('ours follower'), fraction],
    'upstream follower / bound': [bound('upstream follower'), fraction],
    'ours / upstream': [versus('ours follower', 'upstream follower'), times],
    'ours leader / classic': [versus('ours leader', 'classic-level'), times]
  }
  lines.push(
    table(
      'sequential, ratios (per round, then median [min-max])',
      Object.keys(columns),
      OPS.map((op) => [op, ...Object.values(columns).map(([column, unit]) => cell(column(op), unit))])
    )
  )
  return lines
}
