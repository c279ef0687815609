// Throughput of the guest, as a follower over a unix socket (LevelHost over classic-level in a
// child process) and as a leader (forward() to classic-level in this process), next to
// classic-level used directly. Rounds alternate between the three so that a busy machine
// affects them alike; prints the median and best of the rounds. Timing lives here, never in
// tests. Usage: node bench/throughput.mjs [--quick]
import { fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { pipelined as runPipelined } from '@rave-level/test-utils'
import { ResumableGuest } from '../dist/index.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')
const N = quick ? 5_000 : 30_000
const SEQ = quick ? 1_000 : 5_000
const WINDOW = 1_000
const ROUNDS = quick ? 1 : 5

const root = fs.mkdtempSync('/tmp/gb-')
const value = 'x'.repeat(100)
const key = (i) => 'key' + String(i).padStart(8, '0')

const pipelined = (n, op) => runPipelined(n, WINDOW, op)

async function iterate(it) {
  let n = 0
  for await (const _ of it) n++
  if (n !== N) throw new Error(`iterated ${n} of ${N}`)
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
  iterate: [N, (db) => iterate(db.iterator({ gte: 'key', lt: 'kez' }))]
}

const classic = new ClassicLevel(path.join(root, 'classic'))
await classic.open()

const local = new ClassicLevel(path.join(root, 'leader'))
await local.open()
const leader = new ResumableGuest()
leader.forward(local)

const socketPath = path.join(root, 'host.sock')
const child = fork(path.join(here, 'host.mjs'), [path.join(root, 'host'), socketPath])
await once(child, 'message')
const follower = new ResumableGuest()
const socket = net.connect(socketPath)
pipeline(socket, follower.createRpcStream({ ref: socket }), socket, () => {})

const targets = { 'classic-level': classic, 'guest leader': leader, 'guest follower': follower }
const rates = {}
for (let r = 0; r < ROUNDS; r++) {
  for (const [w, [count, fn]] of Object.entries(workloads)) {
    for (const [name, db] of Object.entries(targets)) {
      const t0 = process.hrtime.bigint()
      await fn(db)
      const rate = count / (Number(process.hrtime.bigint() - t0) / 1e9)
      ;((rates[name] ??= {})[w] ??= []).push(rate)
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (n) => Math.round(n).toLocaleString('en-US')
console.log(
  `guest throughput: node ${process.version}, ${os.cpus().length} cores, N=${N}, sequential=${SEQ}, ${ROUNDS} rounds; ops/s median (best)`
)
console.log(
  ''.padEnd(18) +
    Object.keys(targets)
      .map((n) => n.padStart(22))
      .join('') +
    'leader/classic'.padStart(16)
)
for (const w of Object.keys(workloads)) {
  const cells = Object.keys(targets).map((n) =>
    `${fmt(median(rates[n][w]))} (${fmt(Math.max(...rates[n][w]))})`.padStart(22)
  )
  const ratio = (median(rates['guest leader'][w]) / median(rates['classic-level'][w])).toFixed(2) + 'x'
  console.log(w.padEnd(18) + cells.join('') + ratio.padStart(16))
}

await follower.close()
await leader.close()
await Promise.all([local.close(), classic.close()])
child.send('stop')
await once(child, 'exit')
fs.rmSync(root, { recursive: true, force: true })
