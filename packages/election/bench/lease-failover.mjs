// Lease-lock failover benchmark: three candidates of a LeaseElection on a real etcd; SIGKILL the
// leader, and measure on the monotonic clock every process on the machine shares the time from
// the kill to the next 'leader' event, at each TTL given. A killed leader cannot revoke its
// lease, so the next one leads once etcd lets the lease run out: between two thirds of the TTL
// (the last renewal went out a third of the TTL before the kill) and the TTL, plus etcd's
// expiry sweep (every 500 ms). Also counts leaderships that overlapped in the unfenced log
// (lines stamped before each validity check, as in test/lease.test.ts): it must be 0.
//
//   pnpm --filter @rave-level/election run bench:lease [kills=40] [ttls=2,4]
//
// Requires a build and etcd (see the README). Figures only: nothing here asserts a time.
import { fork } from 'node:child_process'
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LeaseElection } from '../dist/index.js'
import { EtcdProcess } from '../test/fixtures/etcd-server.mjs'
import { freePort, summary } from './tools.mjs'

const now = () => process.hrtime.bigint()

if (process.argv[2] === 'member') member(process.argv[3], Number(process.argv[4]), process.argv[5])
else await main(Number(process.argv[2] ?? 40), (process.argv[3] ?? '2,4').split(',').map(Number))

function member(hosts, ttl, log) {
  process.on('message', () => {})
  const send = (message) => process.connected && process.send(message)
  const election = new LeaseElection({ etcd: { hosts }, name: 'bench', value: `pid:${process.pid}`, ttl })
  election.on('leader', (leadership) => {
    send({ event: 'leader', pid: process.pid, token: String(leadership.token), t: String(now()) })
    const beat = setInterval(() => {
      const at = now()
      if (leadership.valid) appendFileSync(log, `${leadership.token} ${at}\n`)
    }, 10)
    leadership.signal.addEventListener('abort', () => clearInterval(beat))
  })
  election.on('follower', ({ token }) => send({ event: 'follower', pid: process.pid, token: String(token) }))
  election.start()
}

async function run(dir, kills, ttl) {
  const etcd = new EtcdProcess({
    clientPort: await freePort(),
    peerPort: await freePort(),
    dataDir: join(dir, `etcd-${ttl}`)
  })
  await etcd.start()
  const log = join(dir, `log-${ttl}`)
  const self = fileURLToPath(import.meta.url)
  const members = new Map()
  const listeners = new Set()
  // The token each member last followed: a follower may see the new leader before the leader
  // itself reports it.
  const following = new Map()
  const spawn = () => {
    const child = fork(self, ['member', etcd.url, String(ttl), log], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    members.set(child.pid, child)
    child.on('message', (message) => {
      if (message.event === 'follower') following.set(message.pid, message.token)
      for (const listener of listeners) listener(message)
    })
    return child
  }
  const until = (match) =>
    new Promise((resolve) => {
      const listener = (message) => {
        if (!match(message)) return
        listeners.delete(listener)
        resolve(message)
      }
      listeners.add(listener)
    })
  // Resolve when every other member follows the leader.
  const settled = async (leader) => {
    const done = () => [...members.keys()].every((pid) => pid === leader.pid || following.get(pid) === leader.token)
    if (!done()) await until(done)
  }

  const times = []
  try {
    let next = until((m) => m.event === 'leader')
    spawn()
    spawn()
    spawn()
    let leader = await next
    for (let i = 0; i < kills; i++) {
      // Everyone follows, and a few renewals have gone out, so the kill lands anywhere in the cycle.
      await settled(leader)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ttl * 1000))
      const victim = members.get(leader.pid)
      members.delete(leader.pid)
      next = until((m) => m.event === 'leader' && m.pid !== leader.pid)
      const t0 = now()
      victim.kill('SIGKILL')
      leader = await next
      times.push(Number(BigInt(leader.t) - t0) / 1e6)
      spawn()
    }
  } finally {
    for (const child of members.values()) child.kill('SIGKILL')
    await etcd.stop('SIGKILL')
  }
  return { times, overlaps: overlaps(log) }
}

/** Lines of a leadership stamped after a later leadership's first line. */
function overlaps(log) {
  const lines = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map(BigInt))
    .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  let greatest = -1n
  let count = 0
  for (const [token] of lines) {
    if (token < greatest) count++
    else greatest = token
  }
  return count
}

async function main(kills, ttls) {
  const dir = mkdtempSync('/tmp/el-lease-bench-')
  try {
    console.log(
      `lease failover over ${kills} SIGKILLs of the leader per TTL, 3 candidates, etcd on loopback, ${process.platform} ${process.arch}, node ${process.version}`
    )
    for (const ttl of ttls) {
      const { times, overlaps: count } = await run(dir, kills, ttl)
      console.log(`  TTL ${ttl} s: kill to next leader: ${summary(times)}; overlapping leadership lines: ${count}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
