// db.watch(), the change feed across processes (issue 12), with real processes: writers,
// watchers and leaders are RaveLevel instances in child processes (fixtures/peer.mjs).
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, peakRss, tempDir, until } from './helpers.js'

afterEach(cleanup)

type Change = { type: 'put' | 'del' | 'gap'; key?: string; value?: string }
type Counters = { watches: number; localWatches: number } | undefined
const HOST = Symbol.for('rave-level.host')

async function leaderChild(location: string, options?: object) {
  const leader = new Peer(location, options)
  await leader.event('leader')
  return leader
}

async function followerChild(location: string, options?: object) {
  const peer = new Peer(location, options)
  await peer.ready
  await until(async () => (await peer.call('role')) !== 'electing', 20_000)
  expect(await peer.call('role')).toBe('follower')
  return peer
}

/** A RaveLevel in this process that is `role`: a leader in a child process first, for a follower. */
async function openAs(role: string): Promise<RaveLevel> {
  const location = tempDir()
  if (role === 'follower') await leaderChild(location)
  const db = new RaveLevel(location)
  defer(() => db.close())
  await db.open()
  expect(db.role).toBe(role)
  return db
}

const changes = (peer: Peer, name: string): Promise<Change[]> => peer.call('changes', name)
const state = (peer: Peer, name: string): Promise<{ count: number; ended: any }> => peer.call('watchState', name)
const show = (c: Change) =>
  c.type === 'gap' ? 'gap' : `${c.type === 'del' ? '-' : ''}${c.key ?? ''}${c.value === undefined ? '' : `=${c.value}`}`

/** Wait until watch `name` of `peer` yielded a change matching `match`. */
async function until_seen(peer: Peer, name: string, match: (c: Change) => boolean, timeout = 20_000) {
  await until(async () => (await changes(peer, name)).some(match), timeout)
}

/** The code of the README's cache-invalidation example, as it is written there. */
function readmeCacheExample(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const example = readme.slice(readme.indexOf('**Example: cache invalidation across processes.**'))
  const code = /```js\n([\s\S]*?)```/.exec(example)?.[1]
  if (code === undefined) throw new Error('The README has no cache example')
  return code
}

type Run = (db: RaveLevel, expose: (get: (key: string) => Promise<unknown>) => void) => Promise<void>
const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => Run

/**
 * `db` for the README's example, but its watches report when the example is done with a change:
 * when it asks for the next one (the body of its loop ran).
 */
function observed(db: RaveLevel, done: () => void): { db: RaveLevel; ready: Promise<void> } {
  // Resolved with the example's watch's `ready`, it settles as that does.
  let registered!: (ready: Promise<void>) => void
  const ready = new Promise<void>((resolve) => {
    registered = resolve
  })
  const watch = (options: object) => {
    const w = db.watch(options)
    registered(w.ready)
    let took = false
    return {
      ready: w.ready,
      next: () => {
        if (took) done()
        took = true
        return w.next()
      },
      return: () => w.close().then(() => ({ done: true as const, value: undefined })),
      [Symbol.asyncIterator]() {
        return this
      }
    }
  }
  const proxy = new Proxy(db, {
    get: (target, prop) => {
      if (prop === 'watch') return watch
      const value = Reflect.get(target, prop)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  return { db: proxy, ready }
}

describe('db.watch() across processes', () => {
  it.each(['leader', 'follower'])(
    'as %s, keeps the README’s cache example exact while another process writes',
    async (role) => {
      const db = await openAs(role)
      const writer = await followerChild(db.location)
      let taken = 0
      const { db: watched, ready } = observed(db, () => taken++)
      let get!: (key: string) => Promise<unknown>
      const example = new AsyncFunction('db', 'expose', `expose(get)\n${readmeCacheExample()}`)
      const running = example(watched, (fn) => {
        get = fn
      })
      await ready
      // Reads of the key all the time, as a busy server's would be (each request a turn).
      let stop = false
      const readers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          await get('k')
          await new Promise(setImmediate)
        }
      })
      for (let i = 1; i <= 300; i++) {
        await writer.call('put', 'k', String(i))
        // Once the example took the change of write i, its cache gives nothing older.
        await until(() => taken >= i)
        expect(Number(await get('k'))).toBeGreaterThanOrEqual(i)
      }
      stop = true
      await Promise.all(readers)
      await db.close()
      await running
    }
  )

  it('gives every watcher the leader’s applied order: complete, filtered, batches contiguous, clear exact', async () => {
    const location = tempDir()
    const leader = await leaderChild(location)
    const [w1, w2, ranged, sub, keysOnly] = (await Promise.all([1, 2, 3, 4, 5].map(() => followerChild(location)))) as [
      Peer,
      Peer,
      Peer,
      Peer,
      Peer
    ]
    // The leader's own watch is registered on its database: its feed is the applied order.
    await leader.call('watch', 'all')
    await ranged.call('watch', 'ranged', { gte: 'k/2', lt: 'k/6' })
    await sub.call('watch', 'sub', {}, { sub: 's' })
    await keysOnly.call('watch', 'keys', { values: false })
    for (const [peer, name] of [
      [leader, 'all'],
      [ranged, 'ranged'],
      [sub, 'sub'],
      [keysOnly, 'keys']
    ] as const)
      await peer.call('watchReady', name)

    // Two writers at once, pipelined: puts, deletes and batches, in the root and in sublevel s.
    const script = (w: string) => {
      const list: object[] = []
      for (let i = 0; i < 60; i++) {
        const k = `k/${i % 10}/${w}/${i}`
        if (i % 7 === 3) {
          list.push({
            op: 'batch',
            ops: [
              { type: 'put', key: `${k}/a`, value: `${w}${i}a` },
              { type: 'put', key: `!s!${w}/${i}`, value: `${w}${i}s` },
              { type: 'del', key: `k/${(i + 1) % 10}/${w}/${i - 1}` },
              { type: 'put', key: `${k}/b`, value: `${w}${i}b` }
            ]
          })
        } else if (i % 5 === 4) {
          list.push({ op: 'del', key: `k/${(i - 1) % 10}/${w}/${i - 1}` })
        } else {
          list.push({ op: 'put', key: k, value: `${w}${i}` })
          list.push({ op: 'put', key: `!s!${w}/${i}`, value: `${w}${i}` })
        }
      }
      return list
    }
    await Promise.all([w1.call('script', script('a')), w2.call('script', script('b'))])
    // An exact clear: the keys in range now are exactly the deletes it publishes.
    const present: string[] = (await w1.call('entries', { gte: 'k/3', lt: 'k/5' })).map(([k]: string[]) => k)
    expect(present.length).toBeGreaterThan(5)
    await w1.call('clear', { gte: 'k/3', lt: 'k/5' })
    await w2.call('put', 'k/5/end', 'end')
    await w2.call('put', '!s!end', 'end')

    await until_seen(leader, 'all', (c) => c.key === '!s!end')
    const all = await changes(leader, 'all')
    await until_seen(ranged, 'ranged', (c) => c.key === 'k/5/end')
    await until_seen(sub, 'sub', (c) => c.key === 'end')
    await until_seen(keysOnly, 'keys', (c) => c.key === '!s!end')

    // Complete: every operation of both writers, each writer's in its issue order.
    const ops = (w: string) =>
      script(w).flatMap((o: any) =>
        o.op === 'batch'
          ? o.ops.map((b: any) => (b.type === 'del' ? `-${b.key}` : `${b.key}=${b.value}`))
          : [o.op === 'del' ? `-${o.key}` : `${o.key}=${o.value}`]
      )
    const shown = all.map(show)
    for (const w of ['a', 'b']) {
      const mine = new Set(ops(w))
      expect(shown.filter((s) => mine.has(s))).toEqual(ops(w))
    }
    // The clear: exactly the keys that were there, as deletes, after everything else.
    const cleared = shown.slice(shown.length - 2 - present.length, shown.length - 2)
    expect(cleared.sort()).toEqual(present.map((k) => `-${k}`).sort())
    expect(all.filter((c) => c.type === 'gap')).toEqual([])

    // Every other watcher: the same feed, as its filter shapes it.
    const inRange = (k: string) => k >= 'k/2' && k < 'k/6'
    expect(await changes(ranged, 'ranged')).toEqual(all.filter((c) => inRange(c.key as string)))
    expect(await changes(sub, 'sub')).toEqual(
      all.filter((c) => c.key?.startsWith('!s!')).map((c) => ({ ...c, key: c.key?.slice(3) }))
    )
    expect(await changes(keysOnly, 'keys')).toEqual(all.map(({ type, key }) => ({ type, key })))

    // A batch arrives contiguous in every feed.
    for (const feed of [all, await changes(ranged, 'ranged')]) {
      const s = feed.map(show)
      const a = s.indexOf('k/3/a/3/a=a3a')
      const b = s.indexOf('k/3/a/3/b=a3b')
      if (feed === all) expect(s.slice(a, b + 1)).toEqual(['k/3/a/3/a=a3a', '!s!a/3=a3s', '-k/4/a/2', 'k/3/a/3/b=a3b'])
      else expect(s.slice(a, b + 1)).toEqual(['k/3/a/3/a=a3a', '-k/4/a/2', 'k/3/a/3/b=a3b'])
    }
  })

  it.each([
    ['another follower or the watcher', true],
    ['the watcher itself', false]
  ])('yields one gap when the leader is SIGKILLed, and goes on when %s leads', async (_, otherWriter) => {
    const location = tempDir()
    const leader = await leaderChild(location)
    const watcher = await followerChild(location)
    const writer = otherWriter ? await followerChild(location) : watcher
    await watcher.call('watch', 'w')
    await watcher.call('watchReady', 'w')
    await writer.call('put', 'before', '1')
    await until_seen(watcher, 'w', (c) => c.key === 'before')
    await leader.kill()
    // Someone leads again; then a write is seen, after one gap.
    await until(
      async () => (await watcher.call('role')) === 'leader' || (await writer.call('role')) === 'leader',
      20_000
    )
    if (!otherWriter) expect(await watcher.call('role')).toBe('leader')
    // Another process's write is seen once the watch is registered on the new leader (it
    // re-registers by itself; until then, the gap covers what it misses).
    const next = (await watcher.call('role')) === 'leader' ? watcher : writer
    await until(async () => {
      const c: Counters = await next.call('host')
      return c != null && c.watches + c.localWatches === 1
    }, 20_000)
    await writer.call('put', 'after', '2')
    await until_seen(watcher, 'w', (c) => c.key === 'after')
    expect((await changes(watcher, 'w')).map(show)).toEqual(['before=1', 'gap', 'after=2'])
    expect((await state(watcher, 'w')).ended).toBe(null)
  })

  it('drops a stalled watcher’s changes for a gap while the leader’s memory stays bounded', async () => {
    const MiB = 1024 * 1024
    const location = tempDir()
    const leader = await leaderChild(location)
    // One watcher does not iterate; another iterates but its process is stopped (SIGSTOP).
    const idle = await followerChild(location)
    const stopped = await followerChild(location)
    const writer = await followerChild(location)
    await idle.call('watch', 'w', {}, { iterate: false })
    await stopped.call('watch', 'w', { values: true })
    await idle.call('watchReady', 'w')
    await stopped.call('watchReady', 'w')
    await writer.call('fill', 'warm', 2000, 1024, 256)
    await until_seen(stopped, 'w', (c) => c.key === 'warm/001999')
    const before = await leader.call('rss')
    const idleBefore = await idle.call('rss')
    stopped.child.kill('SIGSTOP')
    defer(() => stopped.child.kill('SIGCONT'))
    // 100 MiB of changes for each watcher.
    const peak = await peakRss(leader, writer.call('fill', 'flood', 100_000, 1024, 256))
    const growth = (peak - before) / MiB
    const idleGrowth = ((await idle.call('rss')) - idleBefore) / MiB
    console.log(`leader RSS +${growth.toFixed(1)} MiB, idle watcher +${idleGrowth.toFixed(1)} MiB`)
    expect(growth).toBeLessThan(64)
    expect(idleGrowth).toBeLessThan(64)
    stopped.child.kill('SIGCONT')
    await writer.call('put', 'end', 'end')
    await idle.call('iterate', 'w')
    for (const peer of [stopped, idle]) {
      await until_seen(peer, 'w', (c) => c.key === 'end', 60_000)
      const feed = (await changes(peer, 'w')).map((c) => (c.type === 'gap' ? 'gap' : c.key))
      // What was kept is in order, a gap where changes were dropped, and the end.
      expect(feed.filter((k) => k === 'gap').length).toBeGreaterThanOrEqual(1)
      // What can be kept of the flood is bounded by the queues on its way, not by the flood: the
      // watcher's own (WATCH_QUEUE_BYTES, 1 MiB), the leader's (maxWatchQueue, 1 MiB by default)
      // and the kernel's socket buffers (at most net.core.wmem_max, 4 MiB here), with each
      // change over 1 KiB. Keeping 8 MiB's worth would already mean a queue is not bounded.
      const kept = feed.filter((k) => k?.startsWith('flood/'))
      expect(kept.length).toBeLessThan((8 * MiB) / 1024)
      expect(kept).toEqual([...kept].sort())
      expect(feed.at(-1)).toBe('end')
    }
  }, 180_000)

  it('ends with LEVEL_CONNECTION_LOST when the leader dies and retry is false', async () => {
    const location = tempDir()
    const leader = await leaderChild(location)
    const watcher = await followerChild(location, { retry: false })
    await watcher.call('watch', 'w')
    await watcher.call('watchReady', 'w')
    await leader.call('put', 'k', 'v')
    await until_seen(watcher, 'w', (c) => c.key === 'k')
    await leader.kill()
    await until(async () => (await state(watcher, 'w')).ended !== null, 20_000)
    expect((await state(watcher, 'w')).ended).toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
    // What arrived before the loss was yielded first.
    expect((await changes(watcher, 'w')).map(show)).toEqual(['k=v'])
  })

  it('is released on the leader by close(), abort, break and db.close()', async () => {
    const location = tempDir()
    const leader = await leaderChild(location)
    const f = await followerChild(location)
    const g = await followerChild(location)
    await f.call('watch', 'closed')
    await f.call('watch', 'aborted', { gte: 'x' })
    await f.call('watch', 'broken', {}, { sub: ['s', 't'] })
    await g.call('watch', 'db-closed')
    await leader.call('watch', 'local')
    for (const [p, n] of [
      [f, 'closed'],
      [f, 'aborted'],
      [f, 'broken'],
      [g, 'db-closed'],
      [leader, 'local']
    ] as const)
      await p.call('watchReady', n)
    const counters = (): Promise<Counters> => leader.call('host')
    expect(await counters()).toMatchObject({ watches: 4, localWatches: 1 })

    await f.call('closeWatch', 'closed')
    await until(async () => (await counters())?.watches === 3)
    await f.call('abortWatch', 'aborted')
    await until(async () => (await counters())?.watches === 2)
    await f.call('breakWatch', 'broken')
    await f.call('put', '!s!!t!k', 'v')
    await until(async () => (await counters())?.watches === 1)
    await g.call('close')
    await until(async () => (await counters())?.watches === 0)
    await leader.call('closeWatch', 'local')
    await until(async () => (await counters())?.localWatches === 0)

    expect((await state(f, 'closed')).ended).toEqual({ done: true })
    expect((await state(f, 'aborted')).ended).toMatchObject({ code: 'LEVEL_ABORTED' })
    expect(await state(f, 'broken')).toEqual({ count: 1, ended: { done: true } })
    expect((await changes(f, 'broken')).map(show)).toEqual(['k=v'])
    expect((await state(g, 'db-closed')).ended).toEqual({ done: true })
    expect((await state(leader, 'local')).ended).toEqual({ done: true })
  })

  it.each(['leader', 'follower'])('as %s, has its own write’s change before the write resolves', async (role) => {
    const db = await openAs(role)
    const w = db.watch({ values: false })
    defer(() => w.close())
    await w.ready
    for (let i = 0; i < 20; i++) {
      await db.put(`k${i}`, 'v')
      // Waiting in the watch already, it is taken before the event loop's next turn (however
      // many microtasks next() takes); a change that still has to arrive would be too late.
      const taken = await Promise.race([
        w.next().then((r) => r.value),
        new Promise((resolve) => setImmediate(resolve, 'not there yet'))
      ])
      expect(taken).toEqual({ type: 'put', key: `k${i}` })
    }
  })

  it.each(['leader', 'follower'])(
    'as %s, sees its own writes issued after watch() (without awaiting ready), then others’',
    async (role) => {
      const db = await openAs(role)
      const w = db.watch({ values: false })
      void db.put('mine', '1')
      await w.ready
      const other = await followerChild(db.location)
      await other.call('put', 'theirs', '2')
      const seen: string[] = []
      for await (const change of w) {
        seen.push(show(change as Change))
        if (seen.length === 2) break
      }
      expect(seen).toEqual(['mine', 'theirs'])
      if (role === 'leader') await until(() => ((db as any)[HOST] as Counters)?.localWatches === 0)
    }
  )
})
