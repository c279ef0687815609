// Sequential put, get and del (one operation in flight), and the bounds they are held to: a bare
// two-process unix-socket ping-pong and classic-level's own sequential rate. A follower's
// sequential operation costs one round trip plus one classic-level operation on the leader, so
// its serial bound is 1 / (1/ping-pong + 1/classic-level). The ping-pong runs in every phase, in
// turn with the subjects, so that each operation's bound pairs with the same stretch of time.
import { cell, counted, fraction, rate, table, times } from '../format.mjs'
import { newLocation, spawn } from '../procs.mjs'
import { alternate, ratios, series } from '../stats.mjs'
import { openSubject } from '../subjects.mjs'

export const OPS = ['put', 'get', 'del']
const BOUNDS = ['ping-pong', 'classic-level']
const SUBJECTS = [...BOUNDS, 'upstream follower', 'ours follower', 'ours leader']

/** A client process connected to an echo server process, warmed up. */
async function pingPong(warmUp) {
  const [server, client] = await Promise.all([spawn(), spawn()])
  const stop = async () => {
    await client.stop()
    await server.stop()
  }
  try {
    const path = newLocation()
    await server.call('echo', { path })
    await client.call('connect', { path, n: warmUp })
  } catch (err) {
    await stop()
    throw err
  }
  return { worker: client, stop }
}

/** With `boundsOnly`, only ping-pong and classic-level (for `--only bounds`). */
export async function run(config, { boundsOnly = false } = {}) {
  const n = config.sequential
  const size = Math.ceil(n / config.chunks)
  const warmUp = Math.min(1_000, size)
  const samples = await alternate('sequential', config.rounds, boundsOnly ? BOUNDS : SUBJECTS, {
    phases: OPS,
    chunks: config.chunks,
    async setUp(subject) {
      if (subject === 'ping-pong') return pingPong(warmUp)
      const up = await openSubject(subject, newLocation())
      await up.worker.call('warm', { ops: OPS, n: warmUp, role: up.role })
      return up
    },
    slice({ worker, role }, op, chunk, subject) {
      const from = chunk * size
      const count = Math.min(size, n - from)
      return subject === 'ping-pong'
        ? worker.call('pingPong', { count })
        : worker.call('slice', { op, prefix: 's', from, count, role })
    }
  })
  // The ping-pong over the whole round: its phases handled equal counts, so the harmonic mean.
  for (const round of samples['ping-pong'])
    round.roundTrips = OPS.length / OPS.reduce((sum, op) => sum + 1 / round[op], 0)
  return samples
}

/** Per round, the serial bound of a follower's sequential `op` (with the ping-pong of that phase). */
export const serialBound = (samples, op) =>
  samples['ping-pong'].map((pp, r) => 1 / (1 / pp[op] + 1 / samples['classic-level'][r][op]))

export function report(samples, config) {
  const shown = SUBJECTS.slice(1).filter((s) => samples[s] !== undefined)
  const lines = [
    table(
      `sequential ops/s (one in flight; ${config.sequential} ops in ${counted(config.chunks, 'turn')}; median [min-max] of ${counted(config.rounds, 'round')})`,
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
