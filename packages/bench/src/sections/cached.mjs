// The follower cache (issue 22): 4 processes at once, each reading its own 10,000 keys, (a)
// Zipf-distributed with writes at 1% and at 10% (each process writes only its own keys, which
// no other process caches), and (b) each key once. Subjects, side by side in one run: ours as
// followers with the cache on ('ours cached', 64 MiB each) and off, upstream rave-level 1.0.0
// as followers (a fifth process leads, and is not measured), and lmdb-js (each process opens the
// environment; reads are synchronous reads of the memory map). Figures: gets/s and puts/s of
// the 4 together, the mean time of a put (how much the cache costs writers), and CPU per
// operation (the processes outnumber this machine's cores).
import { cell, counted, ms, rate, table, times } from '../format.mjs'
import { newLocation, removeLocation, spawn } from '../procs.mjs'
import { interleave, ratios, series } from '../stats.mjs'
import { now } from '../workloads.mjs'

export const PROCESSES = 4
const KEYS = 10_000
const IMPLS = ['ours cached', 'ours', 'upstream', 'lmdb']
const WORKLOADS = [
  { name: 'zipf 1%', zipf: true, writeRatio: 0.01 },
  { name: 'zipf 10%', zipf: true, writeRatio: 0.1 },
  { name: 'distinct', zipf: false, writeRatio: 0 },
  // Writes alone (of keys each writer cached, and no other process did): what the cache costs a
  // writer, without cache hits competing with the leader for this machine's cores.
  { name: 'puts only', zipf: true, writeRatio: 1 }
]
const LEAD_MS = 250
const ns = (ms) => BigInt(Math.round(ms * 1e6))
const OPEN = {
  'ours cached': { impl: 'cached' },
  ours: { impl: 'ours' },
  upstream: { impl: 'upstream' },
  lmdb: { impl: 'lmdb' }
}

export const subject = (impl, workload) => `${impl} / ${workload}`

async function measure(name, config, processes) {
  const [implName, workloadName] = name.split(' / ')
  const workload = WORKLOADS.find((w) => w.name === workloadName)
  const { impl } = OPEN[implName]
  const { leader, readers } = await processes()
  const location = newLocation()
  const rave = impl !== 'lmdb'
  if (rave) await leader.call('open', { impl: impl === 'cached' ? 'ours' : impl, location, role: 'leader' })
  for (const reader of readers) await reader.call('open', { impl, location, role: rave ? 'follower' : undefined })
  await Promise.all(readers.map((reader, w) => reader.call('cacheFill', { prefix: `w${w}/`, n: KEYS })))
  // The hot workloads start warm (their cache filled); 'distinct' reads keys that no one read.
  if (workload.zipf)
    await Promise.all(readers.map((reader, w) => reader.call('cacheWarm', { prefix: `w${w}/`, n: KEYS })))
  const startAt = now() + ns(LEAD_MS)
  const countFrom = startAt + ns(config.writeMs / 4)
  const endAt = countFrom + ns(config.writeMs)
  // The leader's CPU over the counted stretch (upstream's leader too; lmdb-js has none).
  const leaderCpu = rave ? leader.call('cpuBetween', { from: String(countFrom), to: String(endAt) }) : undefined
  const results = await Promise.all(
    readers.map((reader, w) =>
      reader.call('cacheMixed', {
        prefix: `w${w}/`,
        n: KEYS,
        zipf: workload.zipf,
        writeRatio: workload.writeRatio,
        seed: 1 + w,
        startAt: String(startAt),
        countFrom: String(countFrom),
        endAt: String(endAt),
        role: rave ? 'follower' : undefined
      })
    )
  )
  const leaderMs = rave ? (await leaderCpu).ms : undefined
  for (const reader of readers) await reader.call('close')
  if (rave) await leader.call('close')
  removeLocation(location)
  const seconds = config.writeMs / 1000
  const sum = (f) => results.reduce((acc, r) => acc + (f(r) ?? 0), 0)
  const ops = sum((r) => r.gets + r.puts)
  return {
    gets: sum((r) => r.gets) / seconds,
    puts: sum((r) => r.puts) / seconds,
    cpuUs: ops === 0 ? 0 : (sum((r) => r.cpuMs) * 1000) / ops,
    leaderCpuUs: ops === 0 || leaderMs === undefined ? undefined : (leaderMs * 1000) / ops,
    putMs: sum((r) => r.puts) === 0 ? 0 : sum((r) => r.putMs) / sum((r) => r.puts),
    hitRate: impl === 'cached' ? sum((r) => r.hits) / Math.max(1, sum((r) => r.hits) + sum((r) => r.misses)) : undefined
  }
}

export async function run(config) {
  let pool
  const processes = () =>
    (pool ??= Promise.all(Array.from({ length: PROCESSES + 1 }, spawn)).then(([leader, ...readers]) => ({
      leader,
      readers
    })))
  const subjects = WORKLOADS.flatMap((w) => IMPLS.map((impl) => subject(impl, w.name)))
  try {
    return await interleave('cached', config.rounds, subjects, (name) => measure(name, config, processes))
  } finally {
    if (pool !== undefined) {
      const { leader, readers } = await pool
      for (const worker of [...readers, leader]) await worker.stop()
    }
  }
}

export const figure = (samples, impl, workload, field) => series(samples, subject(impl, workload), field)

export function report(samples, config) {
  const lines = []
  for (const field of ['gets', 'puts']) {
    const rows = []
    for (const w of WORKLOADS) {
      if ((field === 'puts' && w.writeRatio === 0) || (field === 'gets' && w.writeRatio === 1)) continue
      const [cached, ours, upstream, lmdb] = IMPLS.map((impl) => figure(samples, impl, w.name, field))
      rows.push([
        w.name,
        cell(cached, rate),
        cell(ours, rate),
        cell(upstream, rate),
        cell(lmdb, rate),
        cell(ratios(cached, ours), times),
        cell(ratios(cached, lmdb), times)
      ])
    }
    lines.push(
      table(
        `cached: ${field}/s of ${PROCESSES} processes together, each on its own ${KEYS} keys (${config.writeMs} ms counted; median [min-max] of ${counted(config.rounds, 'round')})`,
        ['ours cached', 'ours uncached', 'upstream', 'lmdb-js', 'cached / uncached', 'cached / lmdb'],
        rows
      )
    )
  }
  const latencyRows = WORKLOADS.filter((w) => w.writeRatio > 0).map((w) => {
    const [cached, ours, upstream, lmdb] = IMPLS.map((impl) => figure(samples, impl, w.name, 'putMs'))
    return [
      w.name,
      cell(cached, ms),
      cell(ours, ms),
      cell(upstream, ms),
      cell(lmdb, ms),
      cell(ratios(ours, cached), times)
    ]
  })
  lines.push(
    table(
      'cached: ms per put (mean), each process writing keys only it caches',
      ['ours cached', 'ours uncached', 'upstream', 'lmdb-js', 'write speed cached / uncached'],
      latencyRows
    )
  )
  const cpuRows = WORKLOADS.map((w) => [
    w.name,
    ...IMPLS.map((impl) => cell(figure(samples, impl, w.name, 'cpuUs'), (x) => x.toFixed(1)))
  ])
  lines.push(table('cached: CPU µs per operation of the reading processes', IMPLS, cpuRows))
  const leaderRows = WORKLOADS.map((w) => [
    w.name,
    ...IMPLS.filter((impl) => impl !== 'lmdb').map((impl) =>
      cell(figure(samples, impl, w.name, 'leaderCpuUs'), (x) => x.toFixed(1))
    )
  ])
  lines.push(
    table(
      `cached: CPU µs of the leader per operation of the ${PROCESSES} (lmdb-js has no leader)`,
      IMPLS.filter((impl) => impl !== 'lmdb'),
      leaderRows
    )
  )
  const hits = WORKLOADS.map(
    (w) => `${w.name} ${(100 * (figure(samples, 'ours cached', w.name, 'hitRate')[0] ?? 0)).toFixed(0)}%`
  )
  lines.push(`cache hit rate (first round): ${hits.join(', ')}`)
  return lines
}
