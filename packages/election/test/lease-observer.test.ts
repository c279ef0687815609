// LeaderObserver against a real etcd: it finds the leader of a LeaseElection without taking
// part, follows every change, and says 'stalled' while etcd is gone.
import { afterEach, describe, expect, test } from 'vitest'
import { type LeaderInfo, LeaderObserver, LeaseElection } from '../src/lease.js'
import { startEtcd, stopEtcds } from './etcd.js'
import { cleanup, freePort } from './helpers.js'

/** Wait until `condition` holds, polling; a hang guard of 30 s, not a measure. */
async function until(condition: () => boolean): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > 30_000) throw new Error('Timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
  await stopEtcds()
  await cleanup()
})

function candidate(hosts: string, value: string): LeaseElection {
  const election = new LeaseElection({ etcd: { hosts }, name: 'observed', value, ttl: 2 })
  closers.push(() => election.close())
  election.start()
  return election
}

function observer(hosts: string, extra: object = {}): LeaderObserver {
  const observer = new LeaderObserver({ etcd: { hosts }, name: 'observed', ...extra })
  closers.push(() => observer.close())
  return observer
}

/** Resolve with the first leader `observer` reports for which `match` holds (the current one included). */
function leaderWhere(observer: LeaderObserver, match: (leader: LeaderInfo) => boolean): Promise<LeaderInfo> {
  const current = observer.leader
  if (current !== undefined && match(current)) return Promise.resolve(current)
  return new Promise((resolve, reject) => {
    // A hang guard, not a measure.
    const timer = setTimeout(() => reject(new Error('No such leader reported')), 30_000)
    const listener = (leader: LeaderInfo): void => {
      if (!match(leader)) return
      clearTimeout(timer)
      observer.off('leader', listener)
      resolve(leader)
    }
    observer.on('leader', listener)
  })
}

describe('LeaderObserver', () => {
  test('reports the leader and each change, with growing tokens, and leaderless once nobody campaigns', async () => {
    const etcd = await startEtcd()
    const watching = observer(etcd.url)
    const seen: LeaderInfo[] = []
    watching.on('leader', (leader) => seen.push(leader))
    // Nobody campaigns yet: next() waits for the first leader.
    const first = watching.next()
    const a = candidate(etcd.url, 'tls://a.example:7000')
    expect(await first).toMatchObject({ value: 'tls://a.example:7000' })
    const b = candidate(etcd.url, 'tls://b.example:7000')
    await new Promise<void>((resolve) => b.once('follower', () => resolve()))
    const fromA = await watching.next()
    expect(fromA.token).toBe(a.leadership?.token)

    await a.close()
    const fromB = await leaderWhere(watching, (leader) => leader.value === 'tls://b.example:7000')
    expect(fromB.token).toBeGreaterThan(fromA.token)
    await new Promise<void>((resolve) => (b.role === 'leader' ? resolve() : b.once('leader', () => resolve())))
    expect(fromB.token).toBe(b.leadership?.token)

    const leaderless = new Promise<void>((resolve) => watching.once('leaderless', resolve))
    await b.close()
    await leaderless
    expect(watching.leader).toBeUndefined()
    expect(seen.map((leader) => leader.value)).toEqual(['tls://a.example:7000', 'tls://b.example:7000'])
  })

  test('next() rejects with an AbortError when its signal aborts or the observer closes; close() is idempotent', async () => {
    const etcd = await startEtcd()
    const watching = observer(etcd.url)
    const controller = new AbortController()
    const aborted = watching.next(controller.signal)
    controller.abort()
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
    // Caught at once: it rejects while close() is awaited below.
    const pending = watching.next().catch((err: unknown) => err)
    const closed = new Promise<void>((resolve) => watching.once('close', resolve))
    await Promise.all([watching.close(), watching.close()])
    await closed
    expect(await pending).toMatchObject({ name: 'AbortError' })
    await expect(watching.next()).rejects.toMatchObject({ name: 'AbortError' })
  })

  test("says 'stalled' while etcd is gone, keeps the last leader meanwhile, and follows again once etcd is back", async () => {
    const etcd = await startEtcd()
    const a = candidate(etcd.url, 'tls://a.example:7000')
    const watching = observer(etcd.url, { stalledAfter: 300 })
    const faults: unknown[] = []
    watching.on('error', (err) => faults.push(err.code))
    const before = await watching.next()
    const stalled = new Promise<{ elapsed: number; leader: LeaderInfo | undefined }>((resolve) =>
      watching.once('stalled', resolve)
    )
    await etcd.stop('SIGKILL')
    const info = await stalled
    expect(info.leader).toEqual(before)
    expect(watching.leader).toEqual(before)
    // The leader loses its lease while etcd is gone; once etcd is back, it campaigns again and
    // leads with a new token (or its old key is still there, once etcd renewed every lease).
    await etcd.start()
    await new Promise<void>((resolve) => (a.role === 'leader' ? resolve() : a.once('leader', () => resolve())))
    const token = a.leadership?.token
    const after = await leaderWhere(watching, (leader) => leader.token === token)
    expect(after.value).toBe('tls://a.example:7000')
    expect(faults.every((code) => code === 'LEVEL_ELECTION_FAULT')).toBe(true)
  })

  test("says 'stalled' (once) and reports each failed read when etcd never answers; close() still resolves", async () => {
    const watching = observer(`http://127.0.0.1:${await freePort()}`, { stalledAfter: 200, requestTimeout: 500 })
    const faults: { code?: unknown; stage?: unknown }[] = []
    watching.on('error', (err) => faults.push(err))
    const stalls: unknown[] = []
    watching.on('stalled', (info) => stalls.push(info))
    await until(() => stalls.length > 0 && faults.length >= 2)
    expect(stalls).toEqual([{ elapsed: expect.any(Number), leader: undefined }])
    expect(faults[0]).toMatchObject({ code: 'LEVEL_ELECTION_FAULT', stage: 'campaign' })
    expect(watching.leader).toBeUndefined()
    await watching.close()
  })

  test('refuses invalid options', () => {
    expect(() => new LeaderObserver(undefined as never)).toThrow(TypeError)
    expect(() => new LeaderObserver({ etcd: { hosts: 'http://127.0.0.1:1' }, name: '' })).toThrow(TypeError)
    expect(() => new LeaderObserver({ etcd: null as never, name: 'x' })).toThrow(TypeError)
    expect(() => new LeaderObserver({ etcd: { hosts: 'http://127.0.0.1:1' }, name: 'x', stalledAfter: -1 })).toThrow(
      RangeError
    )
    expect(
      () => new LeaderObserver({ etcd: { hosts: 'http://127.0.0.1:1' }, name: 'x', backoff: { min: 10, max: 5 } })
    ).toThrow(RangeError)
  })
})
