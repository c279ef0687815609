// Every scenario of upstream rave-level 1.0.0's own suite (basic, bytewise, election,
// multi-process, open-close, sublevel), ported to our API.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel, type RaveLevelOptions } from '../dist/index.js'
import { cleanup, defer, Peer, tempDir } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))

afterEach(cleanup)

function open<K = string, V = string>(location: string, options?: RaveLevelOptions<K, V>) {
  const db = new RaveLevel<K, V>(location, options)
  defer(() => db.close())
  return db
}

describe('two instances', () => {
  it('share one database in one process', async () => {
    const location = tempDir()
    const db1 = open<string, number>(location, { valueEncoding: 'json' })
    const db2 = open<string, number>(location, { valueEncoding: 'json' })
    const value = Math.floor(Math.random() * 100000)
    await db1.put('a', value)
    expect(await db2.get('a')).toBe(value)
    await db1.close()
    await db2.close()
  })

  it('in two locations do not conflict', async () => {
    const db1 = open(tempDir())
    const db2 = open(tempDir())
    await db1.put('a', '1')
    await db2.put('a', '2')
    expect(await db1.get('a')).toBe('1')
    expect(await db2.get('a')).toBe('2')
  })

  it('agree on a custom key encoding', async () => {
    // A tuple encoding in the spirit of bytewise: arrays of strings, order-preserving.
    const tuple = {
      name: 'tuple',
      format: 'utf8' as const,
      encode: (key: string[]) => key.join('\x00'),
      decode: (s: string) => s.split('\x00')
    }
    const location = tempDir()
    const db1 = open<string[], number>(location, { keyEncoding: tuple, valueEncoding: 'json' })
    const db2 = open<string[], number>(location, { keyEncoding: tuple, valueEncoding: 'json' })
    const value = Math.floor(Math.random() * 100000)
    await db1.put(['a'], value)
    await db1.put(['a', 'b'], value + 1)
    expect(await db2.get(['a'])).toBe(value)
    const expected = [
      [['a'], value],
      [['a', 'b'], value + 1]
    ]
    expect(await db1.iterator().all()).toEqual(expected)
    expect(await db2.iterator().all()).toEqual(expected)
  })
})

describe('failover', () => {
  it('keeps writes that were pending when the leader closed', async () => {
    const location = tempDir()
    const db1 = open(location)
    await once(db1, 'leader')
    const db2 = open(location)
    const values = Array.from({ length: 100 }, (_, i) => String(i))
    const puts = values.map((v) => db2.put(v.padStart(3, '0'), v))
    await Promise.all([db1.close(), once(db2, 'leader'), ...puts])
    expect(await db2.values().all()).toEqual(values)
  })

  it('survives an election party of six instances closed one by one', async () => {
    const location = tempDir()
    const names = ['a', 'b', 'c', 'e', 'f', 'g']
    const dbs = new Map(names.map((n) => [n, open<string, number>(location, { valueEncoding: 'json' })]))
    await Promise.all([...dbs.values()].map((db) => db.open()))
    const alive = names.slice()
    let checks = 0
    while (alive.length > 0) {
      await Promise.all(
        alive.map(async (a, i) => {
          const b = alive[(i + 1) % alive.length] as string
          const value = Math.random()
          await dbs.get(a)?.put(a, value)
          expect(await dbs.get(b)?.get(a)).toBe(value)
          checks++
        })
      )
      await dbs.get(alive.shift() as string)?.close()
    }
    expect(checks).toBe((names.length * (names.length + 1)) / 2)
  })
})

describe('multiple processes', () => {
  // Upstream repeats this because it "had random issues here".
  for (let round = 0; round < 5; round++) {
    it(`ten processes each write a key and exit by themselves (${round})`, async () => {
      const location = tempDir()
      const entries: [string, string][] = []
      const exits = []
      for (let i = 0; i < 10; i++) {
        const key = String(i).padStart(5, '0')
        const value = String(Math.random())
        const child = fork(path.join(here, 'fixtures', 'write-one.mjs'), [location, key, value], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc']
        })
        defer(() => child.kill('SIGKILL'))
        entries.push([key, value])
        exits.push(once(child, 'exit'))
      }
      expect(await Promise.all(exits)).toEqual(entries.map(() => [0, null]))
      const db = open(location)
      expect(await db.iterator().all()).toEqual(entries)
    }, 30_000)
  }
})

describe('locations', () => {
  it('too long for a unix socket path still work, across processes with different TMPDIRs', async () => {
    const base = tempDir()
    // 150+ bytes: beyond the 107-byte limit, so the endpoint is a hashed path in a private dir.
    const location = path.join(base, 'x'.repeat(60), 'y'.repeat(60), 'db')
    expect(Buffer.byteLength(location)).toBeGreaterThan(130)
    const otherTmp = tempDir()
    const leader = new Peer(location, undefined, { TMPDIR: otherTmp, XDG_RUNTIME_DIR: '' })
    await leader.event('leader')
    await leader.call('put', 'from', 'leader')
    const db = open(location)
    expect(await db.get('from')).toBe('leader')
    await db.put('from', 'follower')
    expect(await leader.call('get', 'from')).toBe('follower')
    expect(db.role).toBe('follower')
  })

  it('that differ only in their last character do not collide', async () => {
    const base = path.join(tempDir(), 'z'.repeat(120))
    const a = open(`${base}a`)
    const b = open(`${base}b`)
    const a2 = open(`${base}a`)
    const b2 = open(`${base}b`)
    await a.put('k', 'a')
    await b.put('k', 'b')
    expect(await a2.get('k')).toBe('a')
    expect(await b2.get('k')).toBe('b')
  })
})

describe('open and close', () => {
  it('applies operations issued before the election', async () => {
    const db = open(tempDir())
    const put = db.put('abc', 'xyz')
    await once(db, 'leader')
    await put
    expect(await db.get('abc')).toBe('xyz')
  })

  it('settles every operation when closed right after the election', async () => {
    for (let i = 0; i < 10; i++) {
      const location = tempDir()
      const db = new RaveLevel(location)
      const puts = Array.from({ length: 20 }, (_, j) =>
        db.put(`k${j}`, 'v').then(
          () => 'ok',
          (err) => err.code
        )
      )
      await once(db, 'leader')
      await db.close()
      const results = await Promise.all(puts)
      for (const r of results) expect(['ok', 'LEVEL_DATABASE_NOT_OPEN']).toContain(r)
      // What was acknowledged is there.
      const check = open(location)
      for (const [j, r] of results.entries()) {
        if (r === 'ok') expect(await check.get(`k${j}`)).toBe('v')
      }
      await check.close()
    }
  })

  it('rejects pending operations when closed immediately after construction', async () => {
    const db = new RaveLevel(tempDir())
    const put = db.put('abc', 'xyz')
    await db.close()
    await expect(put).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
  })

  it('cannot be reopened after close', async () => {
    const db = new RaveLevel(tempDir())
    await db.open()
    await db.close()
    await expect(db.open()).rejects.toMatchObject({ code: 'LEVEL_NOT_SUPPORTED' })
  })

  it('creates its location recursively', async () => {
    const db = open(path.join(tempDir(), 'a', 'b'))
    await db.put('k', 'v')
    expect(await db.get('k')).toBe('v')
  })
})

describe('sublevels', () => {
  it('work across instances with their own encodings', async () => {
    const location = tempDir()
    const db1 = open(location)
    const db2 = open(location)
    const sub1 = db1.sublevel<string, any>('test', { valueEncoding: 'json' })
    const sub2 = db2.sublevel<string, string>('test', {})
    const obj = { test: Math.floor(Math.random() * 100000) }
    await sub1.put('a', obj)
    expect(await sub1.get('a')).toEqual(obj)
    expect(await sub2.get('a')).toBe(JSON.stringify(obj))
    expect(await sub1.iterator().all()).toEqual([['a', obj]])
    expect(await sub2.iterator().all()).toEqual([['a', JSON.stringify(obj)]])
  })
})
