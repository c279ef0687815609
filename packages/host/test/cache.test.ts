// The host's side of the `cache` extension, over raw connections: which answers it marks as
// cacheable, what a write waits for before it commits (an acknowledgement or the end of a lease),
// and the bounds of its bookkeeping. The contract as a whole is checked with real followers in
// rave-level/test/cache-linearizable.test.ts.
import { Input, Output, type OutputFrame } from '@rave-level/protocol'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { until } from './helpers.js'
import { WireClient } from './wire-client.js'

const b = (s: string) => Buffer.from(s)
type AnyDb = ConstructorParameters<typeof LevelHost>[0]

/**
 * A memory-level whose single puts wait while `held` (a write stuck between gate and commit),
 * and whose reads, once they have read, wait while `readsHeld` (an answer read before a write
 * and sent after it).
 */
class Slow extends (MemoryLevel as unknown as new (options?: object) => any) {
  held: Promise<void> | null = null
  readsHeld: Promise<void> | null = null
  reads = 0
  async _put(key: unknown, value: unknown, options: unknown): Promise<void> {
    if (this.held !== null) await this.held
    return super._put(key, value, options)
  }
  async _getMany(keys: unknown[], options: unknown): Promise<unknown[]> {
    const values = await super._getMany(keys, options)
    this.reads++
    if (this.readsHeld !== null) await this.readsHeld
    return values
  }
}

let ids = 100
/** A client that introduced itself and holds a lease of `lease` ms. */
async function caching(host: LevelHost, lease = 60_000): Promise<WireClient> {
  const c = new WireClient(host)
  c.send(Input.hello, { version: 1, features: ['cache'] })
  const id = ids++
  c.send(Input.cacheLease, { id, lease })
  await until(() => c.received.some((f) => f.tag === Output.cacheGrant && f.message.id === id))
  return c
}

const invalidations = (c: WireClient) =>
  c.received.filter(
    (f): f is Extract<OutputFrame, { tag: typeof Output.cacheInvalidate }> => f.tag === Output.cacheInvalidate
  )

async function get(c: WireClient, key: string): Promise<any> {
  const id = ids++
  c.send(Input.get, { id, key: b(key) })
  return c.reply(id)
}

describe('the cache extension on the host', () => {
  it('is named in the Hello; marks answers only for a connection that holds a lease, and never from a snapshot', async () => {
    const db = new MemoryLevel()
    await db.put('k', 'v')
    const host = new LevelHost(db, { maxCacheLease: 60_000 })
    const plain = new WireClient(host)
    plain.send(Input.hello, { version: 1, features: [] })
    expect((await get(plain, 'k')).cache).toBeUndefined()
    expect(plain.received[0]?.message).toMatchObject({ features: expect.arrayContaining(['cache']) })
    const c = await caching(host)
    expect(await get(c, 'k')).toMatchObject({ value: b('v'), cache: true })
    // A missing key is marked too: the guest may keep that it is absent.
    expect(await get(c, 'nope')).toMatchObject({ error: 'LEVEL_NOT_FOUND', cache: true })
    c.send(Input.getMany, { id: 1, keys: [b('k'), b('nope')] })
    expect(await c.reply(1)).toMatchObject({ cache: true })
    c.send(Input.snapshot, { id: 2, snapshot: 1 })
    await c.reply(2)
    c.send(Input.get, { id: 3, key: b('k'), snapshot: 1 })
    expect((await c.reply(3)).cache).toBeUndefined()
    expect(host.caches).toEqual({ clients: 1, keys: 2 })
    // The lease granted is at most the host's maximum.
    c.send(Input.cacheLease, { id: 4, lease: 120_000 })
    await until(() => c.received.some((f) => f.tag === Output.cacheGrant && f.message.id === 4))
    expect(c.received.find((f) => f.tag === Output.cacheGrant && f.message.id === 4)?.message).toEqual({
      id: 4,
      lease: 60_000
    })
  })

  it('holds a write of a cached key until the connection that holds it acknowledges the invalidation', async () => {
    const db = new MemoryLevel()
    await db.put('k', 'v')
    const host = new LevelHost(db, { maxCacheLease: 60_000 })
    const cacher = await caching(host)
    await get(cacher, 'k')
    const writer = new WireClient(host)
    writer.send(Input.put, { id: 1, key: b('k'), value: b('w') })
    await until(() => invalidations(cacher).length === 1)
    expect(invalidations(cacher)[0]?.message.keys).toEqual([b('k')])
    // Others are served meanwhile (and read the value before the write); the writer waits.
    const other = new WireClient(host)
    expect((await get(other, 'k')).value).toEqual(b('v'))
    expect(writer.received).toEqual([])
    cacher.send(Input.cacheAck, { id: invalidations(cacher)[0]?.message.id as number })
    expect(await writer.reply(1)).toMatchObject({ id: 1 })
    expect((await get(other, 'k')).value).toEqual(b('w'))
    // Invalidated: the next write of 'k' waits for nobody.
    writer.send(Input.put, { id: 2, key: b('k'), value: b('x') })
    await writer.reply(2)
    expect(invalidations(cacher)).toHaveLength(1)
  })

  it('lets a write go once the lease of a connection that does not answer ran out', async () => {
    const db = new MemoryLevel()
    const host = new LevelHost(db)
    const cacher = await caching(host, 50)
    await get(cacher, 'k')
    const writer = new WireClient(host)
    writer.send(Input.put, { id: 1, key: b('k'), value: b('w') })
    // No acknowledgement ever comes.
    await writer.reply(1)
    expect(invalidations(cacher)).toHaveLength(1)
  })

  it('does not ask the writer’s own connection, and asks a connection that ended nothing', async () => {
    const db = new MemoryLevel()
    const host = new LevelHost(db, { maxCacheLease: 60_000 })
    const c = await caching(host)
    await get(c, 'k')
    c.send(Input.put, { id: 1, key: b('k'), value: b('mine') })
    await c.reply(1)
    expect(invalidations(c)).toEqual([])
    const gone = await caching(host, 50)
    await get(gone, 'g')
    gone.destroy()
    const writer = new WireClient(host)
    writer.send(Input.put, { id: 2, key: b('g'), value: b('w') })
    // It waited for the lease of the connection that ended (its guest may not know yet).
    await writer.reply(2)
    await until(() => host.caches.clients === 1, 5000)
  })

  it('does not mark an answer to a read that overlapped a write of its key', async () => {
    const db = new Slow({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.put(b('k'), b('v'))
    const host = new LevelHost(db as unknown as AnyDb, { maxCacheLease: 60_000 })
    const c = await caching(host)
    let release!: () => void
    db.held = new Promise<void>((resolve) => {
      release = resolve
    })
    const writer = new WireClient(host)
    writer.send(Input.put, { id: 1, key: b('k'), value: b('w') })
    await until(() => host.caches.clients === 1)
    // The write is past the gate (nobody held 'k') and not committed: what the read gets may be
    // the old value after the write's invalidation went out, so it must not be kept.
    const during = await get(c, 'k')
    expect(during.cache).toBeUndefined()
    // Another key is unaffected.
    expect((await get(c, 'other')).cache).toBe(true)
    release()
    db.held = null
    await writer.reply(1)
    expect(await get(c, 'k')).toMatchObject({ value: b('w'), cache: true })
    // A read that read 'w' before a write of 'k' and is answered after that write committed:
    // no write is in flight when its answer goes, but one ran meanwhile.
    let releaseReads!: () => void
    db.readsHeld = new Promise<void>((resolve) => {
      releaseReads = resolve
    })
    const id = ids++
    const reads = db.reads
    c.send(Input.get, { id, key: b('k') })
    await until(() => db.reads > reads)
    // 'k' was registered by the last answer: the write waits for this connection to drop it.
    writer.send(Input.put, { id: 2, key: b('k'), value: b('x') })
    await until(() => invalidations(c).length === 1)
    c.send(Input.cacheAck, { id: invalidations(c)[0]?.message.id as number })
    await writer.reply(2)
    releaseReads()
    db.readsHeld = null
    expect(await c.reply(id)).toMatchObject({ value: b('w') })
    expect((await c.reply(id)).cache).toBeUndefined()
  })

  it('drops everything a connection holds for a clear, and bounds the keys it notes', async () => {
    const db = new MemoryLevel()
    const host = new LevelHost(db, { maxCacheLease: 60_000, maxCachedKeys: 3 })
    const c = await caching(host)
    for (const key of ['a', 'b', 'c']) expect((await get(c, key)).cache).toBe(true)
    // A fourth key: it is told to drop everything and starts again.
    expect((await get(c, 'd')).cache).toBe(true)
    expect(invalidations(c).map((f) => f.message.all)).toEqual([true])
    // A write of a key of the dropped set waits for that drop to be acknowledged.
    const writer = new WireClient(host)
    writer.send(Input.put, { id: 1, key: b('a'), value: b('w') })
    const other = new WireClient(host)
    await get(other, 'x')
    expect(writer.received).toEqual([])
    c.send(Input.cacheAck, { id: invalidations(c)[0]?.message.id as number })
    await writer.reply(1)
    expect(host.caches.keys).toBe(1)
    writer.send(Input.clear, { id: 2, options: {} })
    await until(() => invalidations(c).length === 2)
    expect(invalidations(c)[1]?.message).toMatchObject({ all: true })
    c.send(Input.cacheAck, { id: invalidations(c)[1]?.message.id as number })
    await writer.reply(2)
    expect(host.caches.keys).toBe(0)
  })
})
