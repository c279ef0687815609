// The follower cache (the `cache` option) in real processes: what it serves, what a write by
// another process does to it, what a stopped caching follower costs writers (its lease, at
// most), and its memory, and the leader's bookkeeping. The contract as a whole (every cached
// read is linearizable) is checked in cache-linearizable.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, peakRss, tempDir, until } from './helpers.js'
import { freePort, remoteOptions, SilentProxy, TOKEN, tlsLeader } from './remote-helpers.js'

afterEach(cleanup)

const MiB = 1024 * 1024
const LEASE = 400

async function leaderAndFollower(cache: object | null = { maxBytes: MiB, lease: LEASE }) {
  const location = tempDir()
  const leader = new Peer(location)
  await leader.event('leader')
  const follower = new RaveLevel(location, cache === null ? {} : { cache: cache as { maxBytes: number } })
  defer(() => follower.close())
  await follower.open()
  expect(follower.role).toBe('follower')
  return { location, leader, follower }
}

const stats = (db: object) =>
  (db as Record<symbol, unknown>)[Symbol.for('rave-level.cache')] as {
    hits: number
    misses: number
    invalidations: number
    size: number
    bytes: number
  }

describe('a follower with a cache', () => {
  it('serves get, getMany, has and hasMany from memory, absent keys too, and sees other processes’ writes', async () => {
    const { leader, follower } = await leaderAndFollower()
    await leader.call('put', 'a', '1')
    expect(await follower.get('a')).toBe('1')
    expect(await follower.get('nope')).toBe(undefined)
    await until(async () => {
      const before = stats(follower).hits
      expect(await follower.get('a')).toBe('1')
      expect(await follower.getMany(['a', 'nope'])).toEqual(['1', undefined])
      expect(await follower.has('a')).toBe(true)
      expect(await follower.hasMany(['a', 'nope'])).toEqual([true, false])
      return stats(follower).hits >= before + 4
    })
    // The leader's write is acknowledged only once this cache dropped 'a'.
    await leader.call('put', 'a', '2')
    expect(await follower.get('a')).toBe('2')
    await leader.call('del', 'a')
    expect(await follower.get('a')).toBe(undefined)
    await leader.call('put', 'nope', 'now')
    expect(await follower.get('nope')).toBe('now')
    await leader.call('clear', {})
    expect(await follower.getMany(['a', 'nope'])).toEqual([undefined, undefined])
    expect(stats(follower).invalidations).toBeGreaterThan(0)
    // Buffers given out are the caller's own.
    const value = await follower.get('x', { valueEncoding: 'buffer' })
    expect(value).toBe(undefined)
    await follower.put('x', 'abc')
    await follower.get('x', { valueEncoding: 'buffer' })
    const mine = (await follower.get('x', { valueEncoding: 'buffer' })) as unknown as Buffer
    mine[0] = 0x7a
    expect(await follower.get('x')).toBe('abc')
  })

  it('sees its own writes in issue order, and caches nothing of them before they are acknowledged', async () => {
    const { follower } = await leaderAndFollower()
    await follower.put('k', '0')
    await follower.get('k')
    for (let i = 1; i < 50; i++) {
      // Not awaited: the get must see the put issued before it.
      const put = follower.put('k', String(i))
      const got = follower.get('k')
      const batch = follower.batch([{ type: 'put', key: 'k', value: `${i}b` }])
      const after = follower.getMany(['k'])
      await put
      expect(await got).toBe(String(i))
      await batch
      expect(await after).toEqual([`${i}b`])
    }
    const cleared = follower.clear()
    const got = follower.get('k')
    await cleared
    expect(await got).toBe(undefined)
  })

  it('is off without the option, and reads through snapshots and iterators are never cached', async () => {
    const { leader, follower } = await leaderAndFollower(null)
    expect(stats(follower)).toBe(undefined)
    for (const cache of [
      { maxBytes: 0 },
      { maxBytes: 1.5 },
      { maxBytes: 1024, lease: 0 },
      { maxBytes: 1024, lease: -1 }
    ])
      expect(() => new RaveLevel(follower.location, { cache })).toThrow(RangeError)
    await leader.call('put', 'a', '1')
    expect(await follower.get('a')).toBe('1')
    const cached = new RaveLevel(follower.location, { cache: { maxBytes: MiB } })
    defer(() => cached.close())
    await cached.get('a')
    const snapshot = cached.snapshot()
    defer(() => snapshot.close())
    // A write of its own, in issue order after the snapshot: once it is answered, so is the snapshot.
    await cached.put('b', '1')
    await leader.call('put', 'a', '2')
    expect(await cached.get('a', { snapshot })).toBe('1')
    expect(await cached.iterator().all()).toEqual([
      ['a', '2'],
      ['b', '1']
    ])
    expect(await cached.get('a')).toBe('2')
  })

  it('drops everything when its leader changes', async () => {
    const { location, leader, follower } = await leaderAndFollower()
    await leader.call('put', 'a', '1')
    await follower.get('a')
    await until(async () => {
      await follower.get('a')
      return stats(follower).size > 0 && stats(follower).hits > 0
    })
    const next = new Peer(location)
    await leader.kill()
    await until(() => follower.role !== 'follower' || stats(follower).size === 0)
    expect(stats(follower).size).toBe(0)
    await until(async () => (await next.call('role')) !== 'electing' || follower.role !== 'electing', 20_000)
    expect(await follower.get('a')).toBe('1')
  })

  it('holds a write of a key it caches for at most its lease while it is SIGSTOPped, and serves nothing stale after', async () => {
    const location = tempDir()
    const leader = new Peer(location)
    await leader.event('leader')
    const cacher = new Peer(location, { cache: { maxBytes: MiB, lease: LEASE } })
    await cacher.ready
    await leader.call('put', 'a', '1')
    expect(await cacher.call('get', 'a')).toBe('1')
    await until(async () => {
      await cacher.call('get', 'a')
      return (await cacher.call('cache')).hits > 0
    })
    // For comparison: the same write while the cacher answers.
    const answered: number[] = []
    for (let i = 0; i < 5; i++) {
      await cacher.call('get', 'a')
      answered.push(await leader.call('timedPut', 'a', `x${i}`))
    }
    await cacher.call('get', 'a')
    await until(async () => {
      await cacher.call('get', 'a')
      return (await cacher.call('cache')).size > 0
    })
    cacher.child.kill('SIGSTOP')
    let held: number
    try {
      held = await leader.call('timedPut', 'a', '2')
    } finally {
      cacher.child.kill('SIGCONT')
    }
    // Woken, it has stopped serving by its own clock: it reads the write.
    expect(await cacher.call('get', 'a')).toBe('2')
    const median = answered.sort((x, y) => x - y)[2] as number
    console.log(
      `a write of a key cached by a SIGSTOPped follower (lease ${LEASE} ms) was held ${held.toFixed(1)} ms; with the follower answering, ${median.toFixed(2)} ms (median of 5)`
    )
  })
})

describe('a remote follower with a cache', () => {
  it('caches over TLS as a local follower does; a path that goes silent holds a write of its keys for at most its lease, and nothing stale is served', async () => {
    const port = await freePort()
    const leader = tlsLeader(port)
    await leader.put('a', '1')
    // TLS end to end, through a proxy that can stop delivering without closing anything.
    const proxy = new SilentProxy(port)
    defer(() => proxy.close())
    const through = await proxy.listen()
    const remote = RaveLevel.connect(
      `tls://127.0.0.1:${through}`,
      remoteOptions(TOKEN, { cache: { maxBytes: MiB, lease: LEASE }, timeout: 2000, stalledAfter: 500 }) as never
    )
    defer(() => remote.close())
    await remote.open()
    expect(await remote.get('a')).toBe('1')
    await until(async () => {
      await remote.get('a')
      return stats(remote).hits > 0
    })
    // The leader's write is acknowledged only once the remote cache dropped 'a'.
    await leader.put('a', '2')
    expect(await remote.get('a')).toBe('2')
    const hits = stats(remote).hits
    await until(async () => {
      expect(await remote.get('a')).toBe('2')
      return stats(remote).hits > hits
    })
    proxy.paused = true
    const started = performance.now()
    // The invalidation cannot reach it: the write waits for its lease, no longer.
    await leader.put('a', '3')
    const held = performance.now() - started
    // By its own clock its lease ran out first: this read goes to the leader, and waits for the
    // path (its request is lost; the silent connection is dropped and the read sent again).
    const read = remote.get('a')
    proxy.paused = false
    expect(await read).toBe('3')
    expect(await remote.get('a')).toBe('3')
    console.log(
      `a write of a key cached by a remote follower behind a silent path (lease ${LEASE} ms) was held ${held.toFixed(1)} ms`
    )
  })
})

describe('memory', () => {
  it('keeps a follower with maxBytes of 8 MiB reading 100 MiB of distinct values within its bound', async () => {
    const location = tempDir()
    const leader = new Peer(location)
    await leader.event('leader')
    const count = 25_600
    await leader.call('fill', 'v', count, 4096)
    const plain = new Peer(location, {}, { NODE_OPTIONS: '--expose-gc' })
    const cached = new Peer(location, { cache: { maxBytes: 8 * MiB } }, { NODE_OPTIONS: '--expose-gc' })
    await Promise.all([plain.ready, cached.ready])
    const peaks: number[] = []
    for (const peer of [plain, cached]) {
      await peer.call('readAll', 'v', 1000)
      await peer.call('gc')
      const before = await peer.call('rss')
      const peak = await peakRss(peer, peer.call('readAll', 'v', count))
      peaks.push((peak - before) / MiB)
    }
    const state = await cached.call('cache')
    console.log(
      `reading 100 MiB of distinct 4 KiB values: RSS peak +${peaks[0]?.toFixed(1)} MiB without a cache, +${peaks[1]?.toFixed(1)} MiB with an 8 MiB cache (holding ${(state.bytes / MiB).toFixed(1)} MiB in ${state.size} entries, ${state.evictions} evicted)`
    )
    expect(state.bytes).toBeLessThanOrEqual(8 * MiB)
    // What the cache adds over reading without one: its 8 MiB and the garbage of what it evicted.
    expect((peaks[1] as number) - (peaks[0] as number)).toBeLessThanOrEqual(8 + 24)
  }, 300_000)

  it('measures the leader’s bookkeeping for 100,000 cached keys across 4 followers', async () => {
    const location = tempDir()
    const leader = new Peer(location, {}, { NODE_OPTIONS: '--expose-gc' })
    await leader.event('leader')
    await leader.call('fill', 'k', 100_000, 8, 512)
    const followers = Array.from({ length: 4 }, () => new Peer(location, { cache: { maxBytes: 64 * MiB } }))
    await Promise.all(followers.map((f) => f.ready))
    // Each holds a lease before it reads (what it reads before that is not kept).
    for (const [i, f] of followers.entries())
      await until(async () => {
        await f.call('get', `k/${String(i * 25_000).padStart(6, '0')}`)
        return (await f.call('cache')).hits > 0
      })
    await leader.call('gc')
    const before = (await leader.call('memory')).heapUsed
    // Each follower reads its own quarter of the keys, 25,000 each.
    await Promise.all(
      followers.map(async (f, i) => {
        for (let j = i * 25_000; j < (i + 1) * 25_000; j += 500) {
          const keys = Array.from({ length: 500 }, (_, n) => `k/${String(j + n).padStart(6, '0')}`)
          await f.call('getMany', keys)
        }
      })
    )
    const host = await leader.call('host')
    await leader.call('gc')
    const after = (await leader.call('memory')).heapUsed
    console.log(
      `leader bookkeeping: ${host.cachedKeys} keys (8-byte keys) across ${host.cacheClients} followers: heap +${((after - before) / MiB).toFixed(1)} MiB, ${((after - before) / host.cachedKeys).toFixed(0)} bytes a key`
    )
    expect(host.cachedKeys).toBe(100_000)
    expect(after - before).toBeLessThanOrEqual(100_000 * 200)
  }, 300_000)
})
