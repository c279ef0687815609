import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { afterEach, describe, expect, test } from 'vitest'
import { serveFencedLog } from '../examples/fenced-log.mjs'
import { type LeaderInfo, type Leadership, LeaseElection } from '../src/lease.js'
import { startEtcd, stopEtcds } from './etcd.js'
import { type Child, cleanup, nextLeader, spawn, tempDir, waitFor } from './helpers.js'
import { closeProxies, startProxy } from './proxy.js'

const TTL = 2
const now = (): bigint => process.hrtime.bigint()
const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
  await closeProxies()
  await stopEtcds()
  await cleanup()
})

/**
 * A real etcd, a fenced job log, an unfenced leadership log, and `join_()` to start a candidate
 * (optionally through a proxy to etcd).
 */
async function cluster(ttl = TTL) {
  const etcd = await startEtcd()
  const dir = tempDir()
  const log = join(dir, 'leaderships')
  const jobLog = join(dir, 'jobs')
  const jobs = await serveFencedLog(jobLog)
  closers.push(() => jobs.close())
  const members = new Set<Child>()
  const join_ = (url = etcd.url): Child => {
    const member = spawn('lease-member.mjs', [url, 'test', ttl, log, jobs.port])
    members.add(member)
    return member
  }
  return { etcd, log, jobLog, members, join_ }
}

/**
 * Wait until every member but the leader follows it: each read the leader's token from etcd,
 * and the leader confirmed that token in the handshake.
 */
async function allFollow(members: Iterable<Child>, leader: Child, token: string): Promise<void> {
  await Promise.all(
    [...members]
      .filter((member) => member !== leader)
      .map((member) =>
        // A hang guard, not a measure: members start an etcd client each, slow on a loaded machine.
        member.next(
          (message) => message.event === 'following' && message.token === token && message.told === token,
          30000
        )
      )
  )
}

interface Line {
  kind: string
  pid: string
  token: bigint
  at: bigint
}

function readLines(path: string): Line[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [kind, pid, token, at] = line.split(' ')
      return { kind: kind!, pid: pid!, token: BigInt(token!), at: BigInt(at!) }
    })
}

/**
 * Check the unfenced leadership log, sorted by the monotonic stamps (taken before each validity
 * check): leaderships never overlap if and only if, in time order, a token never appears again
 * once a greater one appeared. Each token belongs to one process, and tokens grow. Returns the
 * leaderships in order and the number of lines that show two at once (it must be 0).
 */
function verifyLeaderships(path: string): { tokens: bigint[]; overlaps: number; lines: Line[] } {
  const lines = readLines(path).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
  const owners = new Map<bigint, string>()
  const tokens: bigint[] = []
  let overlaps = 0
  for (const line of lines) {
    const owner = owners.get(line.token)
    if (owner === undefined) owners.set(line.token, line.pid)
    else expect(line.pid, `token ${line.token} used by two processes`).toBe(owner)
    const current = tokens.at(-1)
    if (current === undefined || line.token > current) {
      expect(line.kind, `leadership ${line.token} begins with a start line`).toBe('start')
      tokens.push(line.token)
    } else if (line.token < current) {
      overlaps++
    }
  }
  expect(overlaps, 'lines of a leadership after the next one began').toBe(0)
  return { tokens, overlaps, lines }
}

/** The fenced job log: tokens never go down in the order it wrote them. */
function verifyJobLog(path: string): void {
  let previous = -1n
  for (const line of readFileSync(path, 'utf8').trim().split('\n')) {
    const token = BigInt(line.split(' ')[0]!)
    expect(token >= previous, `job log token went down at "${line}"`).toBe(true)
    previous = token
  }
}

describe('lease election (a real etcd)', () => {
  test('resign() and close() revoke the lease: the next candidate leads at once, not after the TTL', async () => {
    const etcd = await startEtcd()
    // A TTL far longer than the waits below: only a revoke explains a quick hand-over.
    const options = { etcd: { hosts: etcd.url }, name: 'handover', ttl: 30 }
    const a = new LeaseElection({ ...options, value: 'tcp://a:1' })
    const b = new LeaseElection({ ...options, value: 'tcp://b:1' })
    closers.push(
      () => a.close(),
      () => b.close()
    )
    a.start()
    const first = await waitFor<Leadership>(a, 'leader')
    expect(first.valid).toBe(true)
    expect(a.leader).toEqual({ value: 'tcp://a:1', token: first.token })
    b.start()
    expect(await waitFor<LeaderInfo>(b, 'follower')).toEqual({ value: 'tcp://a:1', token: first.token })

    const taken = waitFor<Leadership>(b, 'leader', 5000)
    const followed = waitFor<LeaderInfo>(a, 'follower', 5000)
    await a.resign()
    expect(first.signal.aborted).toBe(true)
    expect(first.valid).toBe(false)
    const second = await taken
    expect(second.token).toBeGreaterThan(first.token)
    expect(await followed).toEqual({ value: 'tcp://b:1', token: second.token })

    const back = waitFor<Leadership>(a, 'leader', 5000)
    await b.close()
    expect(second.signal.aborted).toBe(true)
    expect(b.role).toBe('closed')
    expect((await back).token).toBeGreaterThan(second.token)
  })

  test('a leader whose key is deleted behind its back emits lost at once, and another leads', async () => {
    const etcd = await startEtcd()
    const options = { etcd: { hosts: etcd.url }, name: 'deleted', ttl: 30 }
    const a = new LeaseElection({ ...options, value: 'tcp://a:1' })
    const b = new LeaseElection({ ...options, value: 'tcp://b:1' })
    const client = new Etcd3({ hosts: etcd.url })
    closers.push(
      () => a.close(),
      () => b.close(),
      async () => client.close()
    )
    a.start()
    const first = await waitFor<Leadership>(a, 'leader')
    b.start()
    await waitFor(b, 'follower')

    const lost = waitFor<Error & { code: string }>(a, 'lost', 5000)
    const taken = waitFor<Leadership>(b, 'leader', 5000)
    const election = client.namespace('election/deleted/')
    const [key] = await election.getAll().sort('Create', 'Ascend').keys()
    await election.delete().key(key!).exec()
    expect(await lost).toMatchObject({ code: 'LEVEL_LEASE_LOST' })
    expect(first.valid).toBe(false)
    expect((await taken).token).toBeGreaterThan(first.token)
  })

  test('SIGKILL the leader: another leads within TTL + 1 s, and leaderships never overlap', async () => {
    const { log, jobLog, members, join_ } = await cluster()
    let { member: leader, message } = await nextLeader([join_(), join_(), join_()], 30000)
    const tokens = [message.token]
    for (let round = 0; round < 2; round++) {
      await allFollow(members, leader, message.token)
      members.delete(leader)
      const next = nextLeader(members, (TTL + 1) * 1000 + 2000)
      const killed = now()
      await leader.kill()
      ;({ member: leader, message } = await next)
      // The bound of the issue: a new leader within TTL + 1 s of the kill.
      expect(ms(killed, BigInt(message.at))).toBeLessThan((TTL + 1) * 1000)
      expect(BigInt(message.token)).toBeGreaterThan(BigInt(tokens.at(-1)))
      tokens.push(message.token)
      join_()
    }
    await allFollow(members, leader, message.token)
    await leader.next((m) => m.event === 'fenced')

    const { tokens: logged } = verifyLeaderships(log)
    expect(logged.map(String)).toEqual(tokens)
    verifyJobLog(jobLog)
    for (const member of members) {
      expect(member.messages.filter((m) => m.event === 'lost' || m.event === 'refused')).toEqual([])
    }
  }, 90000)

  test('SIGSTOP the leader past its TTL: another leads; on SIGCONT the old one emits lost, acts no more, and its token is refused', async () => {
    const { log, jobLog, members, join_ } = await cluster()
    const { member: old, message } = await nextLeader([join_(), join_(), join_()], 30000)
    await allFollow(members, old, message.token)
    await old.next((m) => m.event === 'fenced')

    members.delete(old)
    const next = nextLeader(members, (TTL + 1) * 1000 + 2000)
    old.process.kill('SIGSTOP')
    const stopped = now()
    const { member: successor, message: led } = await next
    expect(BigInt(led.token)).toBeGreaterThan(BigInt(message.token))
    await successor.next((m) => m.event === 'fenced')

    old.process.kill('SIGCONT')
    // The leadership's signal aborts first (so that nothing acts on it any more), then 'lost'.
    const lost = await old.next((m) => m.event === 'lost')
    expect(lost.code).toBe('LEVEL_LEASE_LOST')
    expect(old.messages.filter((m) => m.event === 'stepped-down').map((m) => m.code)).toEqual(['LEVEL_LEASE_LOST'])
    // The old leader comes back as a follower of the new one.
    await old.next((m) => m.event === 'following' && m.token === led.token && m.told === led.token)

    // Whatever it still tries with its old token, the resource refuses.
    old.process.send({ cmd: 'act-stale' })
    const acted = await old.next((m) => m.event === 'acted')
    expect(acted.answer).toBe(`stale ${led.token}`)

    const { lines } = verifyLeaderships(log)
    // Nothing written as leader after the stop (the stamps are taken before the validity check).
    const late = lines.filter((line) => String(line.token) === message.token && line.at > stopped)
    expect(late).toEqual([])
    verifyJobLog(jobLog)
    expect(readFileSync(jobLog, 'utf8')).not.toContain(`stale-${old.pid}`)
  }, 90000)

  test('etcd stops: the leader steps down within its TTL, followers see stalled; after a restart one leader leads', async () => {
    const { etcd, log, jobLog, members, join_ } = await cluster()
    const { member: old, message } = await nextLeader([join_(), join_(), join_()], 30000)
    await allFollow(members, old, message.token)

    const stopped = now()
    await etcd.stop()
    const lost = await old.next((m) => m.event === 'lost', (TTL + 2) * 1000)
    // Its last renewal was sent before etcd stopped: it must have stopped by then + TTL.
    expect(ms(stopped, BigInt(lost.at))).toBeLessThan(TTL * 1000)
    await Promise.all([...members].map((member) => member.next((m) => m.event === 'stalled', (TTL + 3) * 1000)))
    const { lines } = verifyLeaderships(log)
    expect(lines.filter((line) => ms(stopped, line.at) >= TTL * 1000)).toEqual([])

    const marks = new Map([...members].map((member) => [member, member.messages.length]))
    const next = nextLeader(members, 30000)
    await etcd.start()
    const { member: leader, message: led } = await next
    expect(BigInt(led.token)).toBeGreaterThan(BigInt(message.token))
    await allFollow(members, leader, led.token)
    const leaderships = [...members].flatMap((member) =>
      member.messages.slice(marks.get(member)).filter((m) => m.event === 'leader')
    )
    expect(leaderships).toEqual([led])

    verifyLeaderships(log)
    verifyJobLog(jobLog)
  }, 90000)

  test('a candidate cut off from etcd (a proxy that stops forwarding): a follower stalls, a leader steps down in time', async () => {
    const { etcd, log, jobLog, members, join_ } = await cluster()
    const proxy = await startProxy(Number(new URL(etcd.url).port))
    // The first candidate reaches etcd only through the proxy, and leads.
    const cut = join_(`http://127.0.0.1:${proxy.port}`)
    const { message } = await nextLeader([cut], 30000)
    await nextLeaderFollowed(members, cut, message.token, join_)

    // Cut off while leading: it stops before its TTL ran out since its last renewal, and
    // another takes over.
    members.delete(cut)
    const next = nextLeader(members, (TTL + 1) * 1000 + 2000)
    const paused = now()
    proxy.pause()
    const lost = await cut.next((m) => m.event === 'lost', (TTL + 2) * 1000)
    expect(ms(paused, BigInt(lost.at))).toBeLessThan(TTL * 1000)
    const { member: leader, message: led } = await next
    await cut.next((m) => m.event === 'stalled')

    // Healed: it follows the new leader, and the leadership log shows no overlap.
    members.add(cut)
    proxy.resume()
    await allFollow(members, leader, led.token)
    const { lines } = verifyLeaderships(log)
    expect(lines.filter((line) => String(line.token) === message.token && ms(paused, line.at) >= TTL * 1000)).toEqual(
      []
    )

    // Cut off while following: it stalls; the leader is not disturbed.
    const before = leader.messages.length
    proxy.pause()
    await cut.next((m) => m.event === 'stalled', (TTL + 3) * 1000)
    expect(leader.messages.slice(before)).toEqual([])
    proxy.resume()
    await cut.next((m) => m.event === 'following' && m.token === led.token && m.told === led.token, 30000)

    verifyLeaderships(log)
    verifyJobLog(jobLog)
  }, 120000)
})

/** Start two more candidates (directly on etcd) and wait until they follow `leader`. */
async function nextLeaderFollowed(
  members: Set<Child>,
  leader: Child,
  token: string,
  join_: () => Child
): Promise<void> {
  join_()
  join_()
  await allFollow(members, leader, token)
}
