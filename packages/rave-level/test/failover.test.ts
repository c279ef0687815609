// Beyond upstream's suite: real processes killed with SIGKILL.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { ClassicLevel } from 'classic-level'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, tempDir, until } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))

afterEach(cleanup)

function open<K = string, V = string>(location: string, options?: object) {
  const db = new RaveLevel<K, V>(location, options as any)
  defer(() => db.close())
  return db
}

/** A leader in a child process, with `entries` written, and a follower here. */
async function leaderChild(location: string, entries: [string, string][] = []) {
  const leader = new Peer(location)
  await leader.event('leader')
  if (entries.length > 0)
    await leader.call(
      'batch',
      entries.map(([key, value]) => ({ type: 'put', key, value }))
    )
  return leader
}

// A few entries, for tests that need some data but no iterator across a failover.
const entries = ['a', 'b', 'c'].map((k) => [k, `v-${k}`] as [string, string])

/**
 * The most entries a follower can hold when its leader dies: an iterator's first message (one
 * entry), then at most four messages the guest buffers and two that the host sends before they
 * are acknowledged, each of at most 1000 entries (and about 16 KiB). An iterator that yields more
 * than this after the kill was resumed.
 */
const READ_AHEAD = 1 + 6 * 1000

/**
 * Every word of one to seven letters from a to d (21844 keys), where naive resume logic goes
 * wrong: variable-length keys that are prefixes of each other (a, aa, ab, aba ...). Values of
 * 100 to 116 bytes that name their key, so that an entry skipped or repeated shows in values too.
 * Enough that no range of the matrix below fits in {@link READ_AHEAD}.
 */
const many: [string, string][] = []
;(function words(prefix: string) {
  for (const letter of 'abcd') {
    const key = prefix + letter
    many.push([key, `${key}=`.padEnd(100 + (many.length % 17), '.')])
    if (key.length < 7) words(key)
  }
})('')

/** A database holding {@link many}, written once and copied for each test. */
let template = ''
beforeAll(async () => {
  template = fs.mkdtempSync('/tmp/rl-')
  const db = new ClassicLevel(template)
  await db.batch(many.map(([key, value]) => ({ type: 'put' as const, key, value })))
  await db.close()
})
afterAll(() => fs.rmSync(template, { recursive: true, force: true }))

/**
 * A copy of {@link template}; what `read` yields from it with classic-level used directly (the
 * oracle); then a leader on it in a child process.
 */
async function manyLeader(read: (db: ClassicLevel<string, string>) => Promise<unknown[]>) {
  const location = tempDir()
  fs.cpSync(template, location, { recursive: true })
  const oracle = new ClassicLevel<string, string>(location)
  const want = await read(oracle)
  await oracle.close()
  return { location, want, leader: await leaderChild(location) }
}

type Kind = 'entries' | 'keys' | 'values'
type RangeOptions = { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number }

/** What classic-level and RaveLevel share here: three kinds of iterator. */
type Reader = { next(): Promise<unknown>; all(): Promise<unknown[]> }
type Source = Record<'iterator' | 'keys' | 'values', (options: RangeOptions) => Reader>

function iterate(db: Source, kind: Kind, options: RangeOptions) {
  return kind === 'entries' ? db.iterator(options) : kind === 'keys' ? db.keys(options) : db.values(options)
}

/** Compare long lists by their first difference (a diff of thousands of lines helps no one). */
function expectSame(got: unknown[], want: unknown[]) {
  let at = -1
  for (let i = 0; i < Math.max(got.length, want.length) && at === -1; i++)
    if (!isDeepStrictEqual(got[i], want[i])) at = i
  const around = (list: unknown[]) => list.slice(Math.max(0, at - 2), at + 3)
  expect(
    at === -1 ? undefined : { at, got: around(got), want: around(want), lengths: [got.length, want.length] }
  ).toBeUndefined()
}

// The follower here is the only process left after the kill, so it becomes the leader: its
// iterators resume on the database it now holds.
describe('iterators across a SIGKILL of the leader', () => {
  // Limits above READ_AHEAD too, so that what remains of them counts across the resume.
  const modes: RangeOptions[] = [
    {},
    { reverse: true },
    { gt: 'a', lt: 'd' },
    { gte: 'aa', lte: 'ca', reverse: true },
    { limit: 9000 },
    { reverse: true, limit: 8000, lt: 'd' },
    { gt: 'ab', reverse: true }
  ]
  for (const options of modes) {
    for (const kind of ['entries', 'keys', 'values'] as const) {
      it(`${kind} ${JSON.stringify(options)}`, async () => {
        const { location, want, leader } = await manyLeader((db) => iterate(db, kind, options).all())
        // More than the follower can hold: it must read on after the kill.
        expect(want.length - 3).toBeGreaterThan(READ_AHEAD)
        const db = open(location)
        await db.get('a') // connected as follower
        const it = iterate(db, kind, options)
        const got: unknown[] = []
        for (let i = 0; i < 3; i++) got.push(await it.next())
        await leader.kill()
        got.push(...(await it.all()))
        // Exactly: an early end or an undefined from next() fails too.
        expectSame(got, want)
      })
    }
  }

  it('after a seek', async () => {
    const { location, want, leader } = await manyLeader((db) => db.iterator({ lte: 'cab', reverse: true }).all())
    expect(want.length - 1).toBeGreaterThan(READ_AHEAD)
    const db = open(location)
    const it = db.iterator({ reverse: true })
    it.seek('cab')
    const first = await it.next()
    await leader.kill()
    const rest = await it.all()
    expectSame([first, ...rest], want)
  })
})

describe('hostile input', () => {
  it('cannot hurt the leader: garbage on its socket closes only that connection', async () => {
    const location = tempDir()
    const leader = await leaderChild(location, entries)
    const db = open(location)
    expect(await db.get('a')).toBe('v-a')
    const endpoint = path.join(location, 'rave-level.sock')
    const garbage = [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), // a 34 GB frame
      Buffer.from([0x03, 0x2a, 0x00, 0x00]), // unknown tag
      Buffer.from([0x05, 0x00, 0xff, 0xff, 0xff, 0xff]), // Get with a broken body
      Buffer.alloc(4096, 0x80) // an endless varint
    ]
    for (let round = 0; round < 20; round++) {
      for (const bytes of garbage) {
        const socket = net.connect(endpoint)
        socket.on('error', () => {})
        socket.write(bytes)
        await once(socket, 'close')
      }
    }
    // Connection churn: open and drop at once.
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        const socket = net.connect(endpoint)
        socket.on('error', () => {})
        socket.destroy()
      })
    )
    // The leader and its follower carry on.
    expect(leader.child.exitCode).toBe(null)
    expect(await leader.call('get', 'b')).toBe('v-b')
    await db.put('after', 'garbage')
    expect(await db.get('after')).toBe('garbage')
    expect(db.role).toBe('follower')
  })
})

describe('seek after a failover', () => {
  for (const reverse of [false, true]) {
    it(`can go back before the resumed position (reverse: ${reverse})`, async () => {
      const { location, want, leader } = await manyLeader((db) => db.iterator({ reverse }).all())
      const db = open(location)
      const it = db.iterator({ reverse })
      const got: unknown[] = []
      for (let i = 0; i < 4; i++) got.push(await it.next())
      await leader.kill()
      // Past whatever was buffered before the kill: resumed on the new leader.
      for (let i = 0; i <= READ_AHEAD; i++) got.push(await it.next())
      expectSame(got, want.slice(0, got.length))
      // Back to the start: the resumed range must not hide what comes before the bookmark.
      it.seek(reverse ? 'e' : 'a')
      expectSame(await it.all(), want)
    })
  }
})

describe('writes across SIGKILLs', () => {
  it('keeps every acknowledged write and each writer’s order', async () => {
    const location = tempDir()
    const everyone: Peer[] = []
    const alive = new Set<Peer>()
    const spawn = async () => {
      const peer = new Peer(location)
      everyone.push(peer)
      alive.add(peer)
      await peer.ready
      await peer.call('writeLoop')
    }
    for (let i = 0; i < 4; i++) await spawn()
    // Before each kill, the writers make progress (on the leader elected after the last one), so
    // that the kill lands among writes in flight.
    const acks = () => everyone.reduce((n, p) => n + p.events.filter((e) => e.event === 'ack').length, 0)
    const progress = async () => {
      const before = acks()
      await until(() => acks() >= before + 20, 20_000)
    }
    for (let round = 0; round < 4; round++) {
      await progress()
      // Leadership only moves when we kill the leader, so one live peer has led: the leader.
      const leader = await Promise.race([...alive].map((p) => p.event('leader').then(() => p)))
      await leader.kill()
      alive.delete(leader)
      await spawn()
    }
    await progress()
    for (const p of alive) await p.kill()
    const db = open(location)
    let acked = 0
    for (const p of everyone) {
      expect(p.events.filter((e) => e.event === 'loop-error')).toEqual([])
      const acks = p.events.filter((e) => e.event === 'ack')
      for (const a of acks) expect(await db.get(a.key)).toBe(String(a.i))
      // Order: marker i is written after key i and before key i+1, so it is never behind an
      // acknowledged write, and every key up to it exists.
      if (acks.length > 0) {
        const last = Number(await db.get(`last/${p.pid}`))
        expect(last).toBeGreaterThanOrEqual(acks[acks.length - 1].i)
        const keys = await db.keys({ gte: `${p.pid}/`, lt: `${p.pid}/~` }).all()
        expect(keys.length).toBeGreaterThanOrEqual(last + 1)
        expect(keys.slice(0, last + 1)).toEqual(
          Array.from({ length: last + 1 }, (_, i) => `${p.pid}/${String(i).padStart(6, '0')}`)
        )
      }
      acked += acks.length
    }
    expect(acked).toBeGreaterThan(0)
  }, 60_000)
})

describe('retry: false', () => {
  it('rejects pending operations and fails iterators with LEVEL_CONNECTION_LOST', async () => {
    const location = tempDir()
    // More entries than the host reads ahead (two batches of 16 KiB), so all() must wait.
    const many = Array.from({ length: 20_000 }, (_, i) => [`k${String(i).padStart(6, '0')}`, 'v'] as [string, string])
    const leader = await leaderChild(location, many)
    const db = open(location, { retry: false, stalledAfter: 100 })
    const it = db.iterator()
    expect(await it.next()).toEqual(many[0])
    // Freeze the leader so that the next operations are surely pending, then kill it.
    leader.child.kill('SIGSTOP')
    const stalled = once(db, 'stalled')
    // Capture the outcomes at once: they settle when the kill lands, before we await them.
    const put = db.put('x', 'y').then(
      () => 'resolved',
      (err) => err
    )
    const pending = it.all().then(
      () => 'resolved',
      (err) => err
    )
    // 'stalled' says so: this instance waits for the leader, and the leader says nothing.
    expect(await stalled).toEqual([expect.objectContaining({ reason: 'unresponsive' })])
    await leader.kill()
    expect(await put).toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
    expect(await pending).toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
  })
})

describe('events', () => {
  it('are raised only for this instance’s own operations', async () => {
    const location = tempDir()
    const db = open(location)
    await once(db, 'leader')
    const seen: string[] = []
    db.on('write', (ops: { key: string }[]) => seen.push(...ops.map((o) => o.key)))
    const other = new Peer(location)
    await other.ready
    await other.call('put', 'theirs', '1')
    await db.put('mine', '1')
    expect(await db.get('theirs')).toBe('1')
    expect(seen).toEqual(['mine'])
    // And in the other direction, on a follower.
    await other.call('events')
    await db.put('mine2', '1')
    await other.call('put', 'theirs2', '1')
    const writes = other.events.filter((e) => e.event === 'write').flatMap((e) => e.ops.map((o: any) => o.key))
    expect(writes).toEqual(['theirs2'])
  })
})

describe('the event loop', () => {
  it('lets a leader and a follower process exit by themselves once their operations settled', async () => {
    const location = tempDir()
    const run = (key: string) => {
      const child = fork(path.join(here, 'fixtures', 'write-one.mjs'), [location, key, 'v'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc']
      })
      defer(() => child.kill('SIGKILL'))
      return once(child, 'exit')
    }
    // A long-lived leader here, so that the children are followers.
    const db = open(location)
    await once(db, 'leader')
    expect(await Promise.all([run('a'), run('b'), run('c')])).toEqual([
      [0, null],
      [0, null],
      [0, null]
    ])
    await db.close()
    // And a child that is its own leader.
    expect(await run('d')).toEqual([0, null])
    const check = open(location)
    expect(await check.keys().all()).toEqual(['a', 'b', 'c', 'd'])
  })
})

describe('a lock held by something that serves nothing', () => {
  it("emits 'stalled', then fails open() and what waited for it with LEVEL_LOCKED as cause; a later open() works", async () => {
    const location = tempDir()
    const foreign = new ClassicLevel(location)
    await foreign.open()
    defer(() => foreign.close())
    const db = open(location, { stalledAfter: 100, timeout: 400 })
    const stalled = once(db, 'stalled')
    const put = db.put('a', 'b')
    const [info] = await stalled
    expect(info).toMatchObject({ reason: 'locked', elapsed: expect.any(Number), endpoint: expect.any(String) })
    const err = await put.catch((e) => e)
    expect(err).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_LOCKED' } })
    expect(err.message).toMatch(/does not answer/)
    await expect(db.open()).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_LOCKED' } })
    // When the foreign holder goes away, the instance can be opened.
    await foreign.close()
    await db.open()
    await db.put('a', 'c')
    expect(await db.get('a')).toBe('c')
  })
})

describe('a database that cannot be opened', () => {
  it('fails open() and what waited for it at once, with the cause in the message, and reports it once: by the rejection', async () => {
    const location = tempDir()
    // A CURRENT file naming a manifest that does not exist: classic-level fails to open.
    fs.writeFileSync(path.join(location, 'CURRENT'), 'MANIFEST-000099\n')
    const db = open(location, { timeout: 60_000 })
    const faults: any[] = []
    db.on('error', (err: any) => faults.push(err))
    const started = Date.now()
    const err = await db.put('a', 'b').then(
      () => undefined,
      (e: any) => e
    )
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(err).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
    expect(err.message).toMatch(/MANIFEST|Corruption|No such file/i)
    await expect(db.open()).rejects.toMatchObject({
      code: 'LEVEL_DATABASE_NOT_OPEN',
      message: expect.stringMatching(/MANIFEST|Corruption|No such file/i)
    })
    // The rejection is the report: nothing retries, so no 'error' event follows it ('error' is
    // for faults the instance recovers from). Once closed, the instance can report nothing
    // more, so the count is final.
    await db.close()
    expect(faults).toEqual([])
  })
})
