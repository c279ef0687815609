import { once } from 'node:events'
import { join } from 'node:path'
import { LevelHost } from '@rave-level/host'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { connect, prng, silentHost, tempDir } from './helpers.js'

describe('forward()', () => {
  let dir: ReturnType<typeof tempDir>
  let db: ClassicLevel<string, string>

  beforeEach(async () => {
    dir = tempDir()
    db = new ClassicLevel(join(dir.path, 'db'))
    await db.open()
  })

  afterEach(async () => {
    await db.close()
    dir.remove()
  })

  // Before forward(), operations were sent to a dead host (unanswered), or queued with no
  // connection at all, or both; more are issued after. All must apply in issue order.
  for (const before of ['sent to a dead host', 'queued', 'sent, then queued after the loss'] as const) {
    it(`applies operations ${before} first, then new ones, in issue order`, async () => {
      for (let seed = 1; seed <= 20; seed++) {
        const r = prng(seed)
        const guest = new ResumableGuest()
        await guest.open()
        const link = before === 'queued' ? null : silentHost(guest)
        const k = `k${seed}`
        let model: string | undefined
        const reads: Promise<void>[] = []
        const writes: Promise<void>[] = []
        let i = 0
        const burst = async (n: number) => {
          for (let j = 0; j < n; j++, i++) {
            const x = r.random()
            if (x < 0.5) {
              model = `v${i}`
              writes.push(guest.put(k, model))
            } else if (x < 0.6) {
              model = undefined
              writes.push(guest.del(k))
            } else if (x < 0.7) {
              model = `b${i}`
              writes.push(
                guest.batch([
                  { type: 'del', key: k },
                  { type: 'put', key: k, value: model }
                ])
              )
            } else {
              const expected = model
              const at = i
              reads.push(guest.get(k).then((value) => expect(value, `seed ${seed}, get #${at}`).toBe(expected)))
            }
            if (r.random() < 0.1) await new Promise((resolve) => setImmediate(resolve))
          }
        }
        await burst(100)
        if (before === 'sent, then queued after the loss') {
          const lost = once(guest, 'disconnect')
          link?.cut()
          await lost
          await burst(50)
        }
        guest.forward(db)
        await burst(100)
        await Promise.all([...reads, ...writes])
        expect(await guest.get(k)).toBe(model)
        expect(await db.get(k)).toBe(model)
        await guest.close()
      }
    })
  }

  it('continues open iterators on the database after their last entry', async () => {
    const keys = ['a', 'aa', 'aab', 'ab', 'b', 'ba', 'bb', 'c', 'ca', 'd']
    await db.batch(keys.map((key) => ({ type: 'put' as const, key, value: `${key}!` })))
    const host = new LevelHost(db)
    const twin = new MemoryLevel()
    await twin.batch(keys.map((key) => ({ type: 'put' as const, key, value: `${key}!` })))

    const specs: [string, object][] = [
      ['iterator', {}],
      ['iterator', { reverse: true }],
      ['keys', { gt: 'a', lt: 'c' }],
      ['keys', { reverse: true, lte: 'ba' }],
      ['values', { gte: 'aa', limit: 6 }],
      ['values', { reverse: true, limit: 7 }],
      ['iterator', { reverse: true, gt: 'a', limit: 8, values: false }]
    ]
    for (const retry of [true, false]) {
      for (let taken = 0; taken <= 5; taken++) {
        const guest = new ResumableGuest({ retry })
        const link = connect(guest, host)
        const its = specs.map(([mode, options]) => (guest as any)[mode](options))
        const firsts = []
        for (const it of its) firsts.push(taken > 0 ? await it.nextv(taken) : [])
        if (retry) {
          // The leader died: the connection ends, and this process now owns the database.
          const lost = once(guest, 'disconnect')
          link.cut()
          await lost
        }
        // (Without retry a lost connection fails iterators, so forward while connected.)
        guest.forward(db)
        for (let k = 0; k < specs.length; k++) {
          const [mode, options] = specs[k] as [string, object]
          const label = `${mode} ${JSON.stringify(options)} after ${taken} (retry: ${retry})`
          if (!retry && taken > 0) {
            // Without retry an iterator that read from the host's snapshot, which is gone, must
            // fail rather than continue on another one. (With nothing taken, the iterator was
            // created after forward(): the guest was still opening, which defers it.)
            await expect(its[k].all(), label).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
            continue
          }
          const expected = await (twin as any)[mode](options).all()
          const rest = await its[k].all()
          expect([...firsts[k], ...rest], label).toEqual(expected)
        }
        await guest.close()
      }
    }
    await twin.close()
  })

  it('replays every kind of operation sent to a dead host, and serves reads in flight', async () => {
    await db.batch(['a', 'b', 'c', 'd'].map((key) => ({ type: 'put' as const, key, value: key })))
    const guest = new ResumableGuest<string, string>()
    silentHost(guest)
    await guest.open()
    const it = guest.iterator({ reverse: true, lt: 'd' })
    const read = it.nextv(2) // waits for the dead host
    const results = Promise.all([
      guest.put('e', 'e'),
      guest.get('e'),
      guest.getMany(['a', 'e', 'x']),
      guest.has('e'),
      guest.hasMany(['x', 'a']),
      guest.del('a'),
      guest.get('a', { valueEncoding: 'buffer' }),
      guest.batch([
        { type: 'put', key: 'f', value: 'f' },
        { type: 'del', key: 'b' }
      ]),
      guest.clear({ gte: 'f' }),
      guest.keys().all()
    ])
    guest.forward(db)
    expect(await read).toEqual([
      ['c', 'c'],
      ['b', 'b']
    ])
    expect(await results).toEqual([
      undefined,
      'e',
      ['a', 'e', undefined],
      true,
      [false, true],
      undefined,
      undefined,
      undefined,
      undefined,
      ['c', 'd', 'e']
    ])
    // The iterator was created before del('a'), and is opened on the database in that order.
    expect(await it.nextv(5)).toEqual([['a', 'a']])
    await it.close()
    await guest.close()
  })

  it('fails a values-only iterator that cannot know its position (retry: false)', async () => {
    await db.batch(['a', 'b', 'c'].map((key) => ({ type: 'put' as const, key, value: key })))
    const host = new LevelHost(db)
    const guest = new ResumableGuest({ retry: false })
    connect(guest, host)
    const values = guest.values()
    expect(await values.next()).toBe('a')
    guest.forward(db) // while still connected: the stream is destroyed
    await expect(values.next()).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
    await values.close()
    await guest.close()
  })

  it('seeks and reads like the database after forward()', async () => {
    await db.batch(['a', 'aa', 'b', 'ba', 'c'].map((key) => ({ type: 'put' as const, key, value: key })))
    const guest = new ResumableGuest()
    guest.forward(db)
    const it = guest.keys({ reverse: true, lt: 'c' })
    expect(await it.next()).toBe('ba')
    it.seek('aa')
    expect(await it.nextv(10)).toEqual(['aa', 'a'])
    it.seek('bb')
    expect(await it.next()).toBe('ba')
    it.seek('z') // out of range
    expect(await it.next()).toBeUndefined()
    await it.close()
    // Reading ahead must not use up the limit: after a seek back, the rest of it is still there.
    const limited = guest.keys({ limit: 3 })
    expect(await limited.next()).toBe('a')
    limited.seek('aa')
    expect(await limited.nextv(10)).toEqual(['aa', 'b'])
    await limited.close()
    expect(await guest.has('b')).toBe(true)
    expect(await guest.hasMany(['b', 'x'])).toEqual([true, false])
    expect(await guest.getMany(['a', 'x'])).toEqual(['a', undefined])
    await guest.clear({ gte: 'b' })
    expect(await guest.keys().all()).toEqual(['a', 'aa'])
    await guest.close()
  })

  it("runs the database's prewrite hooks and write events (through its public API)", async () => {
    const seen: string[] = []
    db.hooks.prewrite.add((op: any) => {
      seen.push(`hook ${op.type} ${op.key}`)
    })
    db.on('write', (ops: any[]) => seen.push(`write ${ops.map((op) => op.key).join(',')}`))
    const guest = new ResumableGuest()
    guest.forward(db)
    await Promise.all([guest.put('a', '1'), guest.del('b')])
    await guest.batch([{ type: 'put', key: 'c', value: '3' }])
    // The first write starts a group commit alone; the next one forms the next group.
    expect(seen).toEqual(['hook put a', 'write a', 'hook del b', 'write b', 'hook put c', 'write c'])
    expect(await db.get('a')).toBe('1')
    await guest.close()
  })

  it('works with a database that is a sublevel, and with memory-level', async () => {
    for (const target of [db.sublevel<string, string>('sub', {}), new MemoryLevel<string, string>()]) {
      const guest = new ResumableGuest()
      guest.forward(target as any)
      await guest.batch([
        { type: 'put', key: 'x', value: '1' },
        { type: 'put', key: 'y', value: '2' }
      ])
      await guest.put('z', '3')
      expect(await guest.get('y')).toBe('2')
      expect(await target.iterator().all()).toEqual([
        ['x', '1'],
        ['y', '2'],
        ['z', '3']
      ])
      expect(await guest.values({ reverse: true }).all()).toEqual(['3', '2', '1'])
      await guest.close()
    }
  })
})
