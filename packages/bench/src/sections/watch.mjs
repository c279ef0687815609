// The change feed (db.watch()): how soon a write of one process reaches a watcher in another,
// next to the bare unix-socket round trip measured in the same run, and what watchers cost
// writers: pipelined follower writes with no watcher and with 4 watcher processes attached
// (each watching every key, values included).
import { availableParallelism } from 'node:os'
import { cell, counted, fraction, ms, rate, table, times } from '../format.mjs'
import { newLocation, removeLocation, spawn } from '../procs.mjs'
import { interleave, percentile, ratios, series } from '../stats.mjs'
import { now } from '../workloads.mjs'

export const WATCHERS = 4
const FOUR = `watchers x${WATCHERS}`
const FOUR_KEYS = `watchers x${WATCHERS}, keys only`
const LEAD_MS = 250
const ns = (x) => BigInt(Math.round(x * 1e6))

/** One latency round: a writer's sequential puts, timed at a watcher in a third process. */
async function latency(config, { leader, writer, watcher, client }, round) {
  const n = Math.max(20, Math.round(config.sequential / 5))
  const prefix = `lat${round}/`
  const location = newLocation()
  await leader.call('open', { impl: 'ours', location, role: 'leader' })
  await writer.call('open', { impl: 'ours', location, role: 'follower' })
  await watcher.call('open', { impl: 'ours', location, role: 'follower' })
  await watcher.call('startWatching', { prefix, values: true })
  const { issued, acked } = await writer.call('timedPuts', { prefix, n, role: 'follower' })
  const { arrivals, gaps } = await watcher.call('stopWatching', { n })
  const fromIssue = []
  const fromAck = []
  const putTrip = []
  for (let i = 0; i < n; i++) {
    const at = arrivals[`${prefix}${i}`]
    if (at === undefined) throw new Error(`the watcher never saw ${prefix}${i} (${gaps} gaps)`)
    fromIssue.push(at - issued[i])
    fromAck.push(at - acked[i])
    putTrip.push(acked[i] - issued[i])
  }
  // The round trip of this moment: ping-pong right after, as many as the puts.
  const { count, seconds } = await client.call('pingPong', { count: n })
  for (const worker of [watcher, writer, leader]) await worker.call('close')
  removeLocation(location)
  return {
    roundTrip: (seconds * 1000) / count,
    issueP50: percentile(fromIssue, 50),
    issueP99: percentile(fromIssue, 99),
    ackP50: percentile(fromAck, 50),
    ackP99: percentile(fromAck, 99),
    putP50: percentile(putTrip, 50),
    putP99: percentile(putTrip, 99)
  }
}

/** One throughput measurement: a pipelined follower writer, with `count` watchers attached. */
async function throughput(config, { leader, writer, watchers }, count, values) {
  const location = newLocation()
  await leader.call('open', { impl: 'ours', location, role: 'leader' })
  await writer.call('open', { impl: 'ours', location, role: 'follower' })
  const attached = watchers.slice(0, count)
  for (const watcher of attached) {
    await watcher.call('open', { impl: 'ours', location, role: 'follower' })
    await watcher.call('startWatching', { prefix: '', values })
  }
  const startAt = now() + ns(LEAD_MS)
  const countFrom = startAt + ns(config.writeMs / 4)
  const endAt = countFrom + ns(config.writeMs)
  const window = { from: String(countFrom), to: String(endAt) }
  const cpu = [leader, writer, ...attached].map((worker) => worker.call('cpuBetween', window))
  const result = await writer.call('write', {
    prefix: 'p-',
    window: config.window,
    startAt: String(startAt),
    countFrom: String(countFrom),
    endAt: String(endAt),
    role: 'follower'
  })
  // CPU over the counted time (ms) of each process, and of all; per put counted (us).
  const [leaderMs, writerMs, ...watcherMs] = (await Promise.all(cpu)).map(({ ms }) => ms)
  const watchersMs = watcherMs.reduce((a, b) => a + b, 0)
  const allMs = leaderMs + writerMs + watchersMs
  const perPut = (ms) => (ms * 1000) / result.count
  const seen = []
  for (const watcher of attached) seen.push(await watcher.call('stopWatching'))
  for (const worker of [...attached, writer, leader]) await worker.call('close')
  removeLocation(location)
  return {
    rate: result.count / (config.writeMs / 1000),
    gaps: seen.reduce((sum, s) => sum + s.gaps, 0),
    leaderUs: perPut(leaderMs),
    writerUs: perPut(writerMs),
    // Each watcher's, the mean of those attached.
    watcherUs: count === 0 ? 0 : perPut(watchersMs) / count,
    cpuUs: perPut(allMs),
    // vCPUs busy on average with these processes.
    busy: allMs / config.writeMs
  }
}

export async function run(config) {
  const workers = await Promise.all(Array.from({ length: WATCHERS + 4 }, spawn))
  const [leader, writer, server, client, ...watchers] = workers
  try {
    const path = newLocation()
    await server.call('echo', { path })
    await client.call('connect', { path, n: 1_000 })
    const subjects = ['latency', 'watchers x0', FOUR, FOUR_KEYS]
    return await interleave('watch', config.rounds, subjects, (subject, round) =>
      subject === 'latency'
        ? latency(config, { leader, writer, watcher: watchers[0], client }, round)
        : throughput(config, { leader, writer, watchers }, subject === 'watchers x0' ? 0 : WATCHERS, subject === FOUR)
    )
  } finally {
    for (const worker of workers) await worker.stop()
  }
}

export function report(samples, config) {
  const l = (metric) => series(samples, 'latency', metric)
  const us = (x) => x.toFixed(2)
  const subjects = ['watchers x0', FOUR, FOUR_KEYS]
  const cpuCells = (metric) => subjects.map((s) => cell(series(samples, s, metric), us))
  const [none, four, keys] = subjects.map((s) => series(samples, s, 'rate'))
  const cpus = availableParallelism()
  // The machine's bound with 4 watchers: the rate if every vCPU were busy with their CPU per put.
  const bound = series(samples, FOUR, 'cpuUs').map((us) => (cpus * 1e6) / us)
  const gaps = [FOUR, FOUR_KEYS].reduce((sum, s) => sum + series(samples, s, 'gaps').reduce((a, b) => a + b, 0), 0)
  return [
    table(
      `watch: from a put in one follower to the change at a watcher in another (ms; median [min-max] of ${counted(config.rounds, 'round')})`,
      ['p50', 'p99'],
      [
        ['put acknowledged -> change arrives', cell(l('ackP50'), ms), cell(l('ackP99'), ms)],
        ['unix-socket round trip, same moment', cell(l('roundTrip'), ms), ''],
        ['acknowledged -> arrives / round trip', cell(ratios(l('ackP50'), l('roundTrip')), times), ''],
        ['put issued -> change arrives', cell(l('issueP50'), ms), cell(l('issueP99'), ms)],
        ['put issued -> acknowledged (its own round trip)', cell(l('putP50'), ms), cell(l('putP99'), ms)]
      ]
    ),
    table(
      `watch: pipelined puts/s of one follower (${config.window} in flight) with watcher processes attached${gaps > 0 ? ` (watchers saw ${gaps} gaps)` : ''}`,
      ['puts/s'],
      [
        ['no watcher', cell(none, rate)],
        [`${WATCHERS} watchers, every key with values`, cell(four, rate)],
        [`${WATCHERS} watchers / none`, cell(ratios(four, none), times)],
        [`${WATCHERS} watchers, every key, keys only`, cell(keys, rate)],
        [`${WATCHERS} keys-only watchers / none`, cell(ratios(keys, none), times)],
        [
          `bound of ${counted(cpus, 'vCPU')} with ${WATCHERS} watchers (every vCPU busy) / none`,
          cell(ratios(bound, none), times)
        ]
      ]
    ),
    table(
      'watch: CPU per put counted (us; each process, every thread, over the counted time)',
      ['no watcher', `${WATCHERS} watchers`, 'keys only'],
      [
        ['leader', ...cpuCells('leaderUs')],
        ['writer', ...cpuCells('writerUs')],
        ['each watcher (mean of the 4)', '', ...cpuCells('watcherUs').slice(1)],
        ['all processes', ...cpuCells('cpuUs')],
        [`vCPUs busy, of ${cpus}`, ...subjects.map((s) => cell(series(samples, s, 'busy'), fraction))]
      ]
    )
  ]
}
