import { Input, Output } from '@rave-level/protocol'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { steady, tempDir, until } from './helpers.js'
import { WireClient } from './wire-client.js'

const b = (s: string) => Buffer.from(s)
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString())
const iteratorOptions = { keys: true, values: true, limit: -1, reverse: false }

describe('LevelHost', () => {
  it('validates its arguments', () => {
    const db = new MemoryLevel()
    expect(() => new LevelHost(null as any)).toThrow(TypeError)
    expect(() => new LevelHost({} as any)).toThrow(TypeError)
    expect(() => new LevelHost(db, { readonly: 1 as any })).toThrow(TypeError)
    expect(() => new LevelHost(db, { maxInFlight: 0 })).toThrow(RangeError)
    expect(() => new LevelHost(db, { maxIterators: 1.5 })).toThrow(RangeError)
    expect(() => new LevelHost(db, { highWaterMark: '1' as any })).toThrow(TypeError)
    expect(new LevelHost(db).readonly).toBe(false)
    expect(new LevelHost(db, { readonly: true }).readonly).toBe(true)
  })

  it('answers writes of a readonly host with LEVEL_READONLY and still serves reads', async () => {
    const db = new MemoryLevel()
    await db.put('k', 'v')
    const c = new WireClient(new LevelHost(db, { readonly: true }))
    c.send(Input.put, { id: 1, key: b('k'), value: b('x') })
    c.send(Input.del, { id: 2, key: b('k') })
    c.send(Input.batch, { id: 3, ops: [{ type: 'put', key: b('k'), value: b('x') }] })
    c.send(Input.clear, { id: 4, options: {} })
    c.send(Input.get, { id: 5, key: b('k') })
    for (const id of [1, 2, 3, 4]) expect((await c.reply(id)).error).toBe('LEVEL_READONLY')
    expect(text((await c.reply(5)).value)).toBe('v')
    expect(await db.get('k')).toBe('v')
    c.destroy()
  })

  it('rejects an invalid operation alone, never the writes merged with it', async () => {
    const db = new MemoryLevel()
    const c = new WireClient(new LevelHost(db))
    // All in one tick, so the valid writes form one group commit around the invalid ones.
    c.send(Input.put, { id: 1, key: b('a'), value: b('1') })
    c.send(Input.batch, {
      id: 2,
      ops: [
        { type: 'put', key: b('x'), value: b('x') },
        { type: 'nope', key: b('y') }
      ]
    })
    c.send(Input.batch, {
      id: 3,
      ops: [
        { type: 'put', key: b('x'), value: b('x') },
        { type: 'put', key: b('z') }
      ]
    })
    c.send(Input.put, { id: 4, key: b('x') })
    c.send(Input.batch, {
      id: 5,
      ops: [
        { type: 'del', key: b('a') },
        { type: 'put', key: b('b'), value: b('2') }
      ]
    })
    c.send(Input.put, { id: 6, key: b('c'), value: b('3') })
    c.send(Input.batch, { id: 7, ops: [] })
    expect((await c.reply(1)).error).toBeUndefined()
    expect((await c.reply(2)).error).toBe('LEVEL_PROTOCOL_ERROR')
    expect((await c.reply(3)).error).toBe('LEVEL_INVALID_VALUE')
    expect((await c.reply(4)).error).toBe('LEVEL_INVALID_VALUE')
    expect((await c.reply(5)).error).toBeUndefined()
    expect((await c.reply(6)).error).toBeUndefined()
    expect((await c.reply(7)).error).toBeUndefined()
    expect(await db.iterator().all()).toEqual([
      ['b', '2'],
      ['c', '3']
    ])
    expect(c.closed).toBe(false)
    c.destroy()
  })

  it("runs the database's hooks and 'write' events for guests' writes", async () => {
    // With neither, the host may use the private API; with either, it must go through the public one.
    const db = new MemoryLevel()
    const hooked: string[] = []
    const written: string[] = []
    db.hooks.prewrite.add((op: any) => {
      hooked.push(`${op.type}:${op.key}`)
    })
    db.on('write', (ops: any[]) => written.push(...ops.map((op) => `${op.type}:${op.key}`)))
    const c = new WireClient(new LevelHost(db))
    c.send(Input.put, { id: 1, key: b('a'), value: b('1') })
    c.send(Input.del, { id: 2, key: b('b') })
    c.send(Input.batch, { id: 3, ops: [{ type: 'put', key: b('c'), value: b('3') }] })
    for (const id of [1, 2, 3]) expect((await c.reply(id)).error).toBeUndefined()
    expect(hooked).toEqual(['put:a', 'del:b', 'put:c'])
    expect(written).toEqual(['put:a', 'del:b', 'put:c'])
    expect(await db.get('a')).toBe('1')
    c.destroy()
  })

  it('answers get and getMany of missing keys', async () => {
    const db = new MemoryLevel()
    await db.put('k', '')
    const c = new WireClient(new LevelHost(db))
    c.send(Input.get, { id: 1, key: b('nope') })
    c.send(Input.get, { id: 2, key: b('k') })
    c.send(Input.getMany, { id: 3, keys: [b('nope'), b('k'), b('nope')] })
    c.send(Input.getMany, { id: 4, keys: [] })
    expect(await c.reply(1)).toEqual({ id: 1, error: 'LEVEL_NOT_FOUND' })
    expect(await c.reply(2)).toEqual({ id: 2, value: Buffer.alloc(0) })
    const many = await c.reply(3)
    expect(many.error).toBeUndefined()
    expect(many.values.map((v: { value?: Uint8Array }) => text(v.value))).toEqual([undefined, '', undefined])
    expect(await c.reply(4)).toEqual({ id: 4, values: [] })
    c.destroy()
  })

  it('passes database errors as codes, LEVEL_REMOTE_ERROR when they have none', async () => {
    // A database whose reads fail with an error that has no code.
    const db = new MemoryLevel()
    ;(db as any)._get = (db as any)._getMany = async () => {
      throw new Error('disk on fire')
    }
    const c = new WireClient(new LevelHost(db))
    c.send(Input.get, { id: 1, key: b('k') })
    // The code crosses the wire, and so does the message (many-level 2 guests skip the field).
    expect(await c.reply(1)).toMatchObject({ error: 'LEVEL_REMOTE_ERROR', message: 'disk on fire' })
    await db.close()
    c.send(Input.put, { id: 2, key: b('k'), value: b('v') })
    c.send(Input.getMany, { id: 3, keys: [b('k')] })
    c.send(Input.clear, { id: 4 })
    c.send(Input.iterator, { id: 5, seq: 0, options: iteratorOptions, consumed: 0 })
    expect((await c.reply(2)).error).toBe('LEVEL_DATABASE_NOT_OPEN')
    expect((await c.reply(3)).error).toBe('LEVEL_DATABASE_NOT_OPEN')
    expect((await c.reply(4)).error).toBe('LEVEL_DATABASE_NOT_OPEN')
    await until(() => c.iteratorMessages(5).length > 0)
    expect(c.iteratorMessages(5)).toEqual([
      {
        tag: Output.iteratorError,
        message: { id: 5, seq: 0, error: 'LEVEL_DATABASE_NOT_OPEN', message: 'Database is not open' }
      }
    ])
    c.destroy()
  })

  it('waits for a database that is still opening', async () => {
    const dir = tempDir()
    const db = new ClassicLevel(`${dir.path}/db`)
    expect(db.status).toBe('opening')
    const c = new WireClient(new LevelHost(db))
    c.send(Input.put, { id: 1, key: b('k'), value: b('v') })
    c.send(Input.get, { id: 2, key: b('k') })
    c.send(Input.iterator, { id: 3, seq: 0, options: iteratorOptions, consumed: 0 })
    expect((await c.reply(1)).error).toBeUndefined()
    expect(text((await c.reply(2)).value)).toBe('v')
    await until(() => c.iteratorMessages(3).length > 0)
    expect(c.iteratorMessages(3)[0]).toMatchObject({ tag: Output.iteratorData, message: { data: [b('k'), b('v')] } })
    c.destroy()
    await db.close()
    dir.remove()
  })

  it('limits open iterators per connection', async () => {
    const db = new MemoryLevel()
    await db.put('k', 'v')
    const host = new LevelHost(db, { maxIterators: 2 })
    const c = new WireClient(host)
    for (const id of [1, 2, 3]) c.send(Input.iterator, { id, seq: 0, options: iteratorOptions, consumed: 0 })
    await until(() => c.iteratorMessages(3).length > 0)
    expect(c.iteratorMessages(3)).toEqual([
      { tag: Output.iteratorError, message: { id: 3, seq: 0, error: 'LEVEL_TOO_MANY_ITERATORS' } }
    ])
    expect(host.iterators).toBe(2)
    c.send(Input.iteratorClose, { id: 1 })
    c.send(Input.iterator, { id: 4, seq: 0, options: iteratorOptions, consumed: 0 })
    await until(() => c.iteratorMessages(4).length > 0)
    expect(c.iteratorMessages(4)[0]?.tag).toBe(Output.iteratorData)
    // Another connection has its own allowance.
    const d = new WireClient(host)
    d.send(Input.iterator, { id: 1, seq: 0, options: iteratorOptions, consumed: 0 })
    await until(() => d.iteratorMessages(1).length > 0)
    expect(d.iteratorMessages(1)[0]?.tag).toBe(Output.iteratorData)
    expect(host.iterators).toBe(3)
    c.destroy()
    d.destroy()
    await until(() => host.iterators === 0 && host.connections === 0)
  })

  it('closes the iterators of a stream when it closes', async () => {
    const db = new MemoryLevel()
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 'v' })))
    const host = new LevelHost(db)
    const c = new WireClient(host)
    for (let id = 1; id <= 10; id++) c.send(Input.iterator, { id, seq: 0, options: iteratorOptions, consumed: 0 })
    await until(() => c.iteratorMessages(10).length > 0)
    expect(host.iterators).toBe(10)
    expect(host.connections).toBe(1)
    c.destroy()
    await until(() => host.iterators === 0 && host.connections === 0)
    // Closing the database would wait for iterators that were left open.
    await db.close()
  })

  it('ignores acks, seeks and closes of unknown iterators and duplicate iterator ids', async () => {
    const db = new MemoryLevel()
    await db.put('k', 'v')
    const host = new LevelHost(db)
    const faults: Error[] = []
    host.on('fault', (err) => faults.push(err))
    const c = new WireClient(host)
    c.send(Input.iteratorAck, { id: 9, seq: 0, consumed: 1 })
    c.send(Input.iteratorSeek, { id: 9, seq: 1, target: b('a') })
    c.send(Input.iteratorClose, { id: 9 })
    c.send(Input.iterator, { id: 1, seq: 0, options: iteratorOptions, consumed: 0 })
    c.send(Input.iterator, { id: 1, seq: 0, options: iteratorOptions, consumed: 0 })
    c.send(Input.iteratorClose, { id: 1 })
    c.send(Input.iteratorAck, { id: 1, seq: 0, consumed: 1 })
    c.send(Input.get, { id: 2, key: b('k') })
    expect(text((await c.reply(2)).value)).toBe('v')
    expect(host.iterators).toBe(0)
    expect(c.closed).toBe(false)
    expect(faults).toEqual([])
    c.destroy()
  })
})

describe('iterator flow control', () => {
  async function setup(n: number) {
    const db = new MemoryLevel()
    await db.batch(
      Array.from({ length: n }, (_, i) => ({
        type: 'put' as const,
        key: `k${String(i).padStart(6, '0')}`,
        value: 'v'.repeat(100)
      }))
    )
    const host = new LevelHost(db)
    return { db, host, c: new WireClient(host) }
  }
  // The host sends no more of iterator 1 than it may: a claim that something stops, which no
  // event marks (see steady()).
  const settle = (c: WireClient) => steady(() => c.iteratorMessages(1).length)

  it('sends one item first and keeps at most two batches unacknowledged', async () => {
    const { c } = await setup(20_000)
    c.send(Input.iterator, { id: 1, seq: 0, options: iteratorOptions, consumed: 0 })
    await until(() => c.iteratorMessages(1).length === 1)
    await settle(c)
    const first = c.iteratorMessages(1)
    expect(first).toHaveLength(1)
    expect(first[0]?.message).toMatchObject({ seq: 0, data: [b('k000000'), expect.anything()] })

    let consumed = 1
    c.send(Input.iteratorAck, { id: 1, seq: 0, consumed })
    await until(() => c.iteratorMessages(1).length === 3)
    await settle(c)
    expect(c.iteratorMessages(1)).toHaveLength(3)
    // Every further ack buys exactly one more batch, each of bounded size.
    for (let round = 0; round < 5; round++) {
      const before = c.iteratorMessages(1)
      const batch = before[before.length - 2]?.message as { data: Uint8Array[] }
      consumed += batch.data.length / 2
      expect(batch.data.length / 2).toBeLessThanOrEqual(1000)
      expect(batch.data.reduce((n, d) => n + d.byteLength, 0)).toBeLessThan(17 * 1024)
      c.send(Input.iteratorAck, { id: 1, seq: 0, consumed })
      await until(() => c.iteratorMessages(1).length === before.length + 1)
      await settle(c)
      expect(c.iteratorMessages(1)).toHaveLength(before.length + 1)
    }
    c.destroy()
  })

  it('honours limit and reverse, and tags data with the seek generation', async () => {
    const { c } = await setup(50)
    c.send(Input.iterator, {
      id: 1,
      seq: 0,
      options: { ...iteratorOptions, keys: true, values: false, reverse: true, limit: 3 },
      consumed: 0
    })
    c.send(Input.iteratorSeek, { id: 1, seq: 1, target: b('k000010') })
    await until(() => c.iteratorMessages(1).length === 1)
    expect(c.iteratorMessages(1)[0]?.message).toEqual({ id: 1, seq: 1, data: [b('k000010')] })
    c.send(Input.iteratorAck, { id: 1, seq: 1, consumed: 1 })
    await until(() => c.iteratorMessages(1).some((f) => f.tag === Output.iteratorEnd))
    const keys = c
      .iteratorMessages(1)
      .filter((f) => f.tag === Output.iteratorData)
      .flatMap((f) => (f.message as { data: Uint8Array[] }).data.map(text))
    expect(keys).toEqual(['k000010', 'k000009', 'k000008'])
    // A stale ack (old generation) changes nothing; a new seek starts over with the limit left.
    c.send(Input.iteratorAck, { id: 1, seq: 0, consumed: 1 })
    c.send(Input.iteratorSeek, { id: 1, seq: 2, target: b('k000040') })
    await until(() => c.iteratorMessages(1).some((f) => f.message.seq === 2))
    expect(c.iteratorMessages(1).filter((f) => f.message.seq === 2)[0]?.message).toEqual({
      id: 1,
      seq: 2,
      data: [b('k000040')]
    })
    c.destroy()
  })

  it('applies a seek that arrives while a read is in flight', async () => {
    const { c } = await setup(5000)
    c.send(Input.iterator, { id: 1, seq: 0, options: iteratorOptions, consumed: 0 })
    await until(() => c.iteratorMessages(1).length === 1)
    // The ack starts a read; the seek right behind it must win and be tagged seq 1.
    c.send(Input.iteratorAck, { id: 1, seq: 0, consumed: 1 })
    c.send(Input.iteratorSeek, { id: 1, seq: 1, target: b('k004990') })
    await until(() => c.iteratorMessages(1).some((f) => f.message.seq === 1))
    const gen1 = c.iteratorMessages(1).filter((f) => f.message.seq === 1)
    expect(gen1[0]?.message).toMatchObject({ data: [b('k004990'), expect.anything()] })
    c.destroy()
  })
})
