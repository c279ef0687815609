// Throughput of the guest, as a follower over a unix socket (LevelHost over classic-level in a
// child process) and as a leader (forward() to classic-level in this process), next to
// classic-level used directly. Timing lives here, never in tests.
// Usage: node bench/throughput.mjs [--quick]
import { fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { ResumableGuest } from '../dist/index.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')
const N = quick ? 5_000 : 30_000
const SEQ = quick ? 1_000 : 5_000
const WINDOW = 1_000
const ROUNDS = quick ? 1 : 3

const root = fs.mkdtempSync('/tmp/gb-')
let dirs = 0
const newLocation = () => path.join(root, String(dirs++))
const value = 'x'.repeat(100)
const key = (i) => 'key' + String(i).padStart(8, '0')

async function pipelined(n, op) {
  let next = 0
  const worker = async () => {
    while (next < n) await op(next++)
  }
  await Promise.all(Array.from({ length: WINDOW }, worker))
}

const workloads = {
  'put (pipelined)': [N, (db) => pipelined(N, (i) => db.put(key(i), value))],
  'get (pipelined)': [N, (db) => pipelined(N, (i) => db.get(key(i)))],
  'put (sequential)': [
    SEQ,
    async (db) => {
      for (let i = 0; i < SEQ; i++) await db.put('seq' + key(i), value)
    }
  ],
  'get (sequential)': [
    SEQ,
    async (db) => {
      for (let i = 0; i < SEQ; i++) await db.get(key(i))
    }
  ],
  iterate: [
    N,
    async (db) => {
      let n = 0
      for await (const _ of db.iterator({ gte: 'key', lt: 'kez' })) n++
      if (n !== N) throw new Error(`iterated ${n} of ${N}`)
    }
  ],
  'iterate (nextv)': [
    N,
    async (db) => {
      const it = db.iterator({ gte: 'key', lt: 'kez' })
      let n = 0
      for (let items = await it.nextv(1000); items.length > 0; items = await it.nextv(1000)) n += items.length
      await it.close()
      if (n !== N) throw new Error(`iterated ${n} of ${N}`)
    }
  ]
}

async function measure(db) {
  const result = {}
  for (const [name, [count, fn]] of Object.entries(workloads)) {
    let best = 0
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = process.hrtime.bigint()
      await fn(db)
      best = Math.max(best, count / (Number(process.hrtime.bigint() - t0) / 1e9))
    }
    result[name] = best
  }
  return result
}

async function classic() {
  const db = new ClassicLevel(newLocation())
  await db.open()
  const result = await measure(db)
  await db.close()
  return result
}

async function leader() {
  const db = new ClassicLevel(newLocation())
  await db.open()
  const guest = new ResumableGuest()
  guest.forward(db)
  const result = await measure(guest)
  await guest.close()
  await db.close()
  return result
}

async function follower() {
  const socketPath = path.join(root, 'host.sock')
  const child = fork(path.join(here, 'host.mjs'), [newLocation(), socketPath])
  await once(child, 'message')
  const guest = new ResumableGuest()
  const socket = net.connect(socketPath)
  const stream = guest.createRpcStream({ ref: socket })
  pipeline(socket, stream, socket, () => {})
  const result = await measure(guest)
  await guest.close()
  child.send('stop')
  await once(child, 'exit')
  return result
}

console.log(`guest throughput: node ${process.version}, ${os.cpus().length} cores, N=${N}, sequential=${SEQ}, best of ${ROUNDS}`)
const results = { 'classic-level': await classic(), 'guest leader': await leader(), 'guest follower': await follower() }
const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(16)
console.log('ops/s'.padEnd(20) + Object.keys(results).map((n) => n.padStart(16)).join('') + '  leader/classic'.padStart(16))
for (const w of Object.keys(workloads)) {
  const ratio = (results['guest leader'][w] / results['classic-level'][w]).toFixed(2) + 'x'
  console.log(w.padEnd(20) + Object.values(results).map((r) => fmt(r[w])).join('') + ratio.padStart(16))
}
fs.rmSync(root, { recursive: true, force: true })
