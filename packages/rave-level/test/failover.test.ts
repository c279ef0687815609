// Beyond upstream's suite: real processes killed with SIGKILL.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, tempDir } from './helpers.js'

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
  if (entries.length > 0) await leader.call('batch', entries.map(([key, value]) => ({ type: 'put', key, value })))
  return leader
}

// Variable-length keys, where naive resume logic goes wrong (a, aa, ab, b ...).
const keys = ['a', 'aa', 'ab', 'aba', 'abb', 'ac', 'b', 'ba', 'bb', 'c', 'ca', 'cab', 'd', 'da', 'e']
const entries = keys.map((k) => [k, `v-${k}`] as [string, string])

function expected(options: { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number }) {
  let list = entries.filter(
    ([k]) =>
      (options.gt === undefined || k > options.gt) &&
      (options.gte === undefined || k >= options.gte) &&
      (options.lt === undefined || k < options.lt) &&
      (options.lte === undefined || k <= options.lte)
  )
  if (options.reverse) list = list.slice().reverse()
  if (options.limit !== undefined && options.limit >= 0) list = list.slice(0, options.limit)
  return list
}

describe('iterators across a SIGKILL of the leader', () => {
  const modes = [
    {},
    { reverse: true },
    { gt: 'a', lt: 'd' },
    { gte: 'aa', lte: 'ca', reverse: true },
    { limit: 7 },
    { reverse: true, limit: 6, lt: 'e' },
    { gt: 'ab', reverse: true }
  ]
  for (const options of modes) {
    for (const kind of ['entries', 'keys', 'values'] as const) {
      it(`${kind} ${JSON.stringify(options)}`, async () => {
        const location = tempDir()
        const leader = await leaderChild(location, entries)
        const db = open(location)
        await db.get('a') // connected as follower
        const want = expected(options)
        const it =
          kind === 'entries' ? db.iterator(options) : kind === 'keys' ? db.keys(options) : db.values(options)
        const got: unknown[] = []
        for (let i = 0; i < 3; i++) got.push(await it.next())
        await leader.kill()
        got.push(...(await it.all()))
        const project = (e: [string, string]) => (kind === 'entries' ? e : kind === 'keys' ? e[0] : e[1])
        expect(got.filter((x) => x !== undefined)).toEqual(want.map(project))
      })
    }
  }

  it('after a seek', async () => {
    const location = tempDir()
    const leader = await leaderChild(location, entries)
    const db = open(location)
    const it = db.iterator({ reverse: true })
    it.seek('cab')
    const first = await it.next()
    await leader.kill()
    const rest = await it.all()
    expect([first, ...rest]).toEqual(expected({ lte: 'cab', reverse: true }))
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
      const location = tempDir()
      const leader = await leaderChild(location, entries)
      const db = open(location)
      const it = db.iterator({ reverse })
      for (let i = 0; i < 4; i++) await it.next()
      await leader.kill()
      await it.next() // resumed on the new leader
      // Back to the start: the resumed range must not hide what comes before the bookmark.
      it.seek(reverse ? 'e' : 'a')
      expect(await it.all()).toEqual(expected({ reverse }))
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
    for (let round = 0; round < 4; round++) {
      await new Promise((r) => setTimeout(r, 200))
      // Leadership only moves when we kill the leader, so one live peer has led: the leader.
      const leader = await Promise.race([...alive].map((p) => p.event('leader').then(() => p)))
      await leader.kill()
      alive.delete(leader)
      await spawn()
    }
    await new Promise((r) => setTimeout(r, 200))
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
        expect(keys.slice(0, last + 1)).toEqual(Array.from({ length: last + 1 }, (_, i) => `${p.pid}/${String(i).padStart(6, '0')}`))
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
    const db = open(location, { retry: false })
    const it = db.iterator()
    expect(await it.next()).toEqual(many[0])
    // Freeze the leader so that the next operation is surely pending, then kill it.
    leader.child.kill('SIGSTOP')
    // Capture the outcomes at once: they settle when the kill lands, before we await them.
    const put = db.put('x', 'y').then(() => 'resolved', (err) => err)
    const pending = it.all().then(() => 'resolved', (err) => err)
    await new Promise((r) => setTimeout(r, 50))
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
  it('fails open() and what waited for it at once, with the cause in the message, and reports it once', async () => {
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
    await expect(db.open()).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', message: expect.stringMatching(/MANIFEST|Corruption|No such file/i) })
    // No retrying, so no stream of 'error' events (the rejection is the report).
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(faults.length).toBeLessThanOrEqual(1)
  })
})
