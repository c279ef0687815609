// Failover benchmark: SIGKILL the leader of a 4-process election and measure, on the monotonic
// clock every process on the machine shares, how long until the first successful operation
// elsewhere (the new leader's first use of the resource, or a follower's first round trip to the
// new leader, whichever comes first) and until every survivor has done one.
//
//   pnpm --filter @rave-level/election run bench [kills=20] [members=4]
//
// Requires a build (`pnpm --filter @rave-level/election run build`). Figures only: nothing here
// asserts a time.
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Election } from '../dist/index.js'
import { portLock } from '../test/fixtures/port-lock.mjs'
import { freePort, summary } from './tools.mjs'

const now = () => process.hrtime.bigint()

if (process.argv[2] === 'member') member(process.argv[3], Number(process.argv[4]))
else await main(Number(process.argv[2] ?? 20), Number(process.argv[3] ?? 4))

function member(endpoint, port) {
  // The election holds nothing open (by design), and a child's IPC channel only keeps it alive
  // while someone listens for messages.
  process.on('message', () => {})
  const send = (message) => process.connected && process.send(message)
  const election = new Election({
    endpoint,
    ...portLock(port),
    serve(socket) {
      // Echo: one byte in, one byte out.
      socket.on('data', (chunk) => socket.write(chunk))
    },
    follow(socket) {
      socket.once('data', () => send({ event: 'op', pid: process.pid, t: String(now()) }))
      socket.write('p')
    }
  })
  election.on('leader', (server) => {
    // The leader's first operation is local: it holds the resource.
    if (server.listening) send({ event: 'op', pid: process.pid, t: String(now()), leader: true })
  })
  election.start()
}

async function main(kills, size) {
  const dir = mkdtempSync('/tmp/el-bench-')
  const endpoint = join(dir, 's')
  const port = await freePort()
  const self = fileURLToPath(import.meta.url)
  const members = new Map()
  const listeners = new Set()
  const spawn = () => {
    const child = fork(self, ['member', endpoint, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    members.set(child.pid, child)
    child.on('message', (message) => {
      for (const listener of listeners) listener(message)
    })
    return child
  }
  // Resolve when every pid in `pids` reported an op after `since`; the first one marks the leader.
  const ops = (pids, since) =>
    new Promise((resolve) => {
      const seen = new Map()
      let leader
      const listener = (message) => {
        if (message.event !== 'op' || !pids.has(message.pid) || BigInt(message.t) < since) return
        if (message.leader) leader = message.pid
        if (!seen.has(message.pid)) seen.set(message.pid, BigInt(message.t))
        if (seen.size === pids.size) {
          listeners.delete(listener)
          resolve({ seen, leader })
        }
      }
      listeners.add(listener)
    })

  try {
    let round = ops(new Set(Array.from({ length: size }, () => spawn().pid)), 0n)
    let { leader } = await round
    const first = []
    const all = []
    for (let i = 0; i < kills; i++) {
      const survivors = new Set([...members.keys()].filter((pid) => pid !== leader))
      const victim = members.get(leader)
      members.delete(leader)
      const t0 = now()
      round = ops(survivors, t0)
      victim.kill('SIGKILL')
      const result = await round
      const times = [...result.seen.values()].map((t) => Number(t - t0) / 1e6)
      first.push(Math.min(...times))
      all.push(Math.max(...times))
      leader = result.leader
      // Back to full strength, and settled, before the next kill.
      const joined = spawn()
      await ops(new Set([joined.pid]), 0n)
    }
    console.log(
      `failover over ${kills} SIGKILLs of the leader, ${size} processes, ${process.platform} ${process.arch}, node ${process.version}`
    )
    console.log(`  first successful operation elsewhere: ${summary(first)}`)
    console.log(`  every survivor operating again:       ${summary(all)}`)
  } finally {
    for (const child of members.values()) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
