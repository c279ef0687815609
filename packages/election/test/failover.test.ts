import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { type Child, cleanup, freePort, nextLeader as nextMessageLeader, spawn, tempDir } from './helpers.js'

afterEach(cleanup)

/** Resolve with whichever of `members` reports `{ event: 'leader' }` first from now on. */
async function nextLeader(members: Child[], timeout = 10000): Promise<Child> {
  return (await nextMessageLeader(members, timeout)).member
}

/** Wait until every member follows `leader` (it tells them its pid). */
async function allFollow(members: Iterable<Child>, leader: Child): Promise<void> {
  await Promise.all(
    [...members]
      .filter((member) => member !== leader)
      .map((member) => member.next((message) => message.event === 'following' && message.leader === leader.pid))
  )
}

/**
 * The log is append-only and only leaders write to it, each line stamped with the monotonic clock
 * (shared by every process on the machine). Leaderships never overlapped if and only if the
 * stamps never go back, the writer changes only at a `start` line, each member starts at most
 * once, and a `stop` is the last line of its leadership.
 */
function verifyLog(path: string): string[] {
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
  const leaders: string[] = []
  let previous = 0n
  let current: string | undefined
  for (const [kind, pid, stamp] of lines) {
    const time = BigInt(stamp!)
    expect(time >= previous, `time goes back at ${kind} ${pid} ${stamp}`).toBe(true)
    previous = time
    if (kind === 'start') {
      expect(leaders, `${pid} started twice`).not.toContain(pid)
      leaders.push(pid!)
      current = pid
    } else {
      expect(pid, `${kind} by ${pid} while ${current} leads`).toBe(current)
      if (kind === 'stop') current = undefined
    }
  }
  return leaders
}

/** A temp dir with an endpoint, a leadership log and a free port; `join_()` adds a member. */
async function cluster() {
  const dir = tempDir()
  const endpoint = join(dir, 's')
  const log = join(dir, 'log')
  const port = await freePort()
  const members = new Set<Child>()
  const join_ = (): Child => {
    const member = spawn('member.mjs', [endpoint, port, log])
    members.add(member)
    return member
  }
  return { endpoint, log, port, members, join_ }
}

describe('failover', () => {
  test('exactly one leader at a time across repeated SIGKILLs of the leader', async () => {
    const { log, members, join_ } = await cluster()

    const first = nextLeader(Array.from({ length: 4 }, join_))
    let leader = await first
    const rounds = 8
    for (let round = 0; round < rounds; round++) {
      await allFollow(members, leader)
      members.delete(leader)
      const next = nextLeader([...members])
      await leader.kill()
      leader = await next
      // Keep four members: the newcomer must find the new leader, not the dead one.
      join_()
    }
    await allFollow(members, leader)

    const leaders = verifyLog(log)
    expect(leaders).toHaveLength(rounds + 1)
    for (const member of members) {
      expect(member.messages.filter((message) => message.event === 'error')).toEqual([])
    }
  }, 60000)

  test('graceful hand-over: a closing leader releases the lock and a follower takes over', async () => {
    const { log, members, join_ } = await cluster()

    let leader = await nextLeader([join_(), join_(), join_()])
    const rounds = 5
    for (let round = 0; round < rounds; round++) {
      await allFollow(members, leader)
      members.delete(leader)
      const next = nextLeader([...members])
      leader.process.send({ cmd: 'close' })
      await leader.next((message) => message.event === 'closed')
      const successor = await next
      // The closed member stays alive but out of the election: it must not take the lock again.
      // Now that its successor holds the lock it cannot; had it taken it in between, its report
      // is in before its answer to a ping.
      leader.process.send({ cmd: 'ping' })
      await leader.next((message) => message.event === 'pong')
      expect(leader.messages.filter((message) => message.event === 'leader')).toHaveLength(1)
      await leader.kill()
      leader = successor
      join_()
    }
    await allFollow(members, leader)

    const leaders = verifyLog(log)
    expect(leaders).toHaveLength(rounds + 1)
    const lines = readFileSync(log, 'utf8').trim().split('\n')
    expect(lines.filter((line) => line.startsWith('stop '))).toHaveLength(rounds)
  }, 60000)
})
