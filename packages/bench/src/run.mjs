// Benchmarks, side by side in one run: rave-level (ours) as follower and as leader, upstream
// rave-level 1.0.0 as follower, and classic-level used directly. Prints throughput per workload
// and the ratios the design targets. Timing lives here, never in tests.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pipelined as runPipelined } from '@rave-level/test-utils'
import { ClassicLevel } from 'classic-level'

const here = path.dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')
const N = quick ? 5_000 : 30_000 // entries for pipelined puts/gets and iteration
const SEQ = quick ? 1_000 : 5_000 // sequential puts
const WINDOW = 1_000 // operations in flight for pipelined workloads
const FAILOVERS = quick ? 5 : 15
const ROUNDS = quick ? 1 : 5 // median of

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rlb-'))
let dirs = 0
const newLocation = () => path.join(root, String(dirs++))

const value = 'x'.repeat(100)
const key = (i) => 'key' + String(i).padStart(8, '0')

const pipelined = (n, op) => runPipelined(n, WINDOW, op)

const workloads = {
  'put (pipelined)': (db) => pipelined(N, (i) => db.put(key(i), value)),
  'get (pipelined)': (db) => pipelined(N, (i) => db.get(key(i))),
  'put (sequential)': async (db) => {
    for (let i = 0; i < SEQ; i++) await db.put('seq' + key(i), value)
  },
  // Two ways to read a range: entry by entry, and in batches (iterator.all() reads with nextv).
  'iterate (for await)': async (db) => {
    let n = 0
    for await (const _ of db.iterator({ gte: 'key', lt: 'kez' })) n++
    if (n !== N) throw new Error(`iterated ${n} of ${N}`)
  },
  'iterate (all)': async (db) => {
    const n = (await db.iterator({ gte: 'key', lt: 'kez' }).all()).length
    if (n !== N) throw new Error(`iterated ${n} of ${N}`)
  }
}
const counts = { 'put (pipelined)': N, 'get (pipelined)': N, 'put (sequential)': SEQ, 'iterate (for await)': N, 'iterate (all)': N }

// One pass over every workload (the first pass also writes the data the later ones read).
async function measure(db) {
  const result = {}
  for (const [name, fn] of Object.entries(workloads)) {
    const t0 = process.hrtime.bigint()
    await fn(db)
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    result[name] = counts[name] / s
  }
  return result
}

function startLeader(impl, location) {
  const child = fork(path.join(here, 'leader.mjs'), [impl, location], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return { child, ready: once(child, 'message') }
}

async function asFollower(impl) {
  const location = newLocation()
  const { child, ready } = startLeader(impl, location)
  await ready
  const { RaveLevel } = impl === 'upstream' ? await import('rave-level-1') : await import('rave-level')
  const db = new RaveLevel(location)
  await db.put('__warm', '1')
  const result = await measure(db)
  await db.close()
  child.send('stop')
  await once(child, 'exit')
  return result
}

async function asLeader() {
  const { RaveLevel } = await import('rave-level')
  const db = new RaveLevel(newLocation())
  await once(db, 'leader')
  const result = await measure(db)
  await db.close()
  return result
}

async function classic() {
  const db = new ClassicLevel(newLocation())
  await db.open()
  const result = await measure(db)
  await db.close()
  return result
}

// SIGKILL of the leader → first successful operation on this (follower) process, which is then
// elected. A fresh location per round so that every round starts with a live leader child.
async function failover(impl) {
  const { RaveLevel } = impl === 'upstream' ? await import('rave-level-1') : await import('rave-level')
  const times = []
  for (let i = 0; i < FAILOVERS; i++) {
    const location = newLocation()
    const { child, ready } = startLeader(impl, location)
    await ready
    const db = new RaveLevel(location)
    await db.put('k', 'v')
    const exited = once(child, 'exit')
    const t0 = process.hrtime.bigint()
    child.kill('SIGKILL')
    await db.get('k')
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    await exited
    await db.close()
  }
  times.sort((a, b) => a - b)
  return { median: times[Math.floor(times.length / 2)], p95: times[Math.min(times.length - 1, Math.floor(times.length * 0.95))] }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(10)
const ratio = (a, b) => (a / b).toFixed(2) + 'x'

console.log(`rave-level benchmarks: node ${process.version}, ${os.cpus().length} cores, N=${N}, sequential=${SEQ}, median of ${ROUNDS} interleaved rounds`)
// Rounds interleave the subjects, each on a fresh database and (for followers) a fresh leader,
// so that a noisy moment of this shared machine hits all of them alike; the median counts.
const subjects = {
  'classic-level': classic,
  'upstream follower': () => asFollower('upstream'),
  'ours follower': () => asFollower('ours'),
  'ours leader': asLeader
}
const samples = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of Object.entries(subjects)) samples[name].push(await run())
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = Object.fromEntries(
  Object.entries(samples).map(([name, runs]) => [
    name,
    Object.fromEntries(Object.keys(workloads).map((w) => [w, median(runs.map((run) => run[w]))]))
  ])
)

const names = Object.keys(results)
console.log('\nops/s'.padEnd(20) + names.map((n) => n.padStart(18)).join(''))
for (const w of Object.keys(workloads)) {
  console.log(w.padEnd(19) + names.map((n) => fmt(results[n][w]).padStart(18)).join(''))
}

console.log('\nratios'.padEnd(20) + 'follower/upstream'.padStart(20) + 'leader/classic'.padStart(18) + 'follower/classic'.padStart(18))
for (const w of Object.keys(workloads)) {
  console.log(
    w.padEnd(19) +
      ratio(results['ours follower'][w], results['upstream follower'][w]).padStart(20) +
      ratio(results['ours leader'][w], results['classic-level'][w]).padStart(18) +
      ratio(results['ours follower'][w], results['classic-level'][w]).padStart(18)
  )
}

const up = await failover('upstream')
const ours = await failover('ours')
console.log(`\nfailover (SIGKILL → first successful get), ${FAILOVERS} rounds`)
console.log(`upstream: median ${up.median.toFixed(1)} ms, p95 ${up.p95.toFixed(1)} ms`)
console.log(`ours:     median ${ours.median.toFixed(1)} ms, p95 ${ours.p95.toFixed(1)} ms`)

fs.rmSync(root, { recursive: true, force: true })
