// The change feed at its source: what LocalStore tells subscribers about the writes it commits.
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { type Change, LocalStore } from '../dist/index.js'

const utf8 = { keyEncoding: 'utf8', valueEncoding: 'utf8' }
const b = (s: string) => Buffer.from(s)
const put = (key: string, value: string) => ({ type: 'put' as const, key, value, ...utf8 })
const del = (key: string) => ({ type: 'del' as const, key, keyEncoding: 'utf8' })
const text = (changes: readonly Change[]) =>
  changes.map((c) =>
    c.type === 'put' ? `${Buffer.from(c.key)}=${Buffer.from(c.value as Uint8Array)}` : `-${Buffer.from(c.key)}`
  )

async function fresh(entries: string[] = []) {
  const db = new MemoryLevel()
  await db.open()
  if (entries.length > 0) await db.batch(entries.map((key) => ({ type: 'put' as const, key, value: 'v' })))
  const store = new LocalStore(db as any)
  const seen: string[][] = []
  return { db, store, seen, listen: (changes: readonly Change[]) => seen.push(text(changes)) }
}

describe('LocalStore.subscribe', () => {
  it('tells each commit, as bytes, in the order applied, before its writers settle', async () => {
    const { db, store, seen, listen } = await fresh()
    await store.batch([put('before', '0')])
    const stop = await store.subscribe(listen)
    expect(store.subscribers).toBe(1)
    const order: string[] = []
    const first = store.batch([put('a', '1')]).then(() => order.push(`settled ${seen.length}`))
    // Two callers while the first commits: one merged commit, each caller's operations together.
    const second = store.batch([put('b', '2'), del('a')])
    const third = store.batch([
      { type: 'put', key: b('c'), value: new Uint8Array([0x33]), keyEncoding: 'view', valueEncoding: 'view' }
    ])
    await Promise.all([first, second, third])
    expect(order).toEqual(['settled 1'])
    expect(seen).toEqual([['a=1'], ['b=2', '-a', 'c=3']])
    stop()
    expect(store.subscribers).toBe(0)
    await store.batch([put('after', '1')])
    expect(seen.length).toBe(2)
    await db.close()
  })

  it('takes its place in the commit order: after the commit running and the writes waiting', async () => {
    const { db, store, seen, listen } = await fresh()
    const running = store.batch([put('running', '1')])
    const waiting = store.batch([put('waiting', '1')])
    const subscribed = store.subscribe(listen)
    const later = store.batch([put('later', '1')])
    await Promise.all([running, waiting, subscribed, later])
    expect(seen).toEqual([['later=1']])
    await db.close()
  })

  it('starts the next commit before telling subscribers of the last (the database works meanwhile)', async () => {
    const { db, store, listen } = await fresh()
    await store.subscribe(listen)
    const started: string[] = []
    const batch = (db as any)._batch.bind(db)
    ;(db as any)._batch = (ops: { key: unknown }[], options: unknown) => {
      started.push(String(ops[0]?.key))
      return batch(ops, options)
    }
    const heard: string[] = []
    await store.subscribe((changes) => heard.push(`${text(changes)} after ${started.join(',')}`))
    await Promise.all([store.batch([put('a', '1')]), store.batch([put('b', '2')])])
    expect(heard).toEqual(['a=1 after a,b', 'b=2 after a,b'])
    await db.close()
  })

  it('tells nothing of a failed commit', async () => {
    const { db, store, seen, listen } = await fresh()
    await store.subscribe(listen)
    ;(db as any)._batch = () => Promise.reject(new Error('failed'))
    ;(db as any)._put = () => Promise.reject(new Error('failed'))
    await expect(store.batch([put('a', '1')])).rejects.toThrow('failed')
    expect(seen).toEqual([])
    await db.close()
  })
})

describe('LocalStore.clear', () => {
  const keys = ['a', 'b', 'c', 'd', 'e']

  it('with nobody listening, is the database’s own clear', async () => {
    const { db, store } = await fresh(keys)
    let called = 0
    const original = db.clear.bind(db)
    ;(db as any).clear = (options: any) => {
      called++
      return original(options)
    }
    await store.clear({ gt: 'a', lt: 'e', keyEncoding: 'utf8', limit: -1, reverse: false })
    expect(called).toBe(1)
    expect(await db.keys().all()).toEqual(['a', 'e'])
    await db.close()
  })

  it('while someone listens, deletes exactly the keys it removes, and tells them as deletes', async () => {
    const { db, store, seen, listen } = await fresh(keys)
    await store.subscribe(listen)
    await store.clear({ gt: 'a', lte: 'd', keyEncoding: 'utf8', limit: 2, reverse: true })
    expect(seen).toEqual([['-d', '-c']])
    expect(await db.keys().all()).toEqual(['a', 'b', 'e'])
    await db.close()
  })

  it('reads from the moment it takes its place: a later write is not cleared, an earlier one is', async () => {
    const { db, store, seen, listen } = await fresh()
    await store.subscribe(listen)
    const many = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    const running = store.batch(many.map((key) => put(key, 'v')))
    const cleared = store.clear({ keyEncoding: 'utf8', limit: -1, reverse: false })
    const later = store.batch([put('k0000', 'again'), put('k9999', 'new')])
    await Promise.all([running, cleared, later])
    // Three batches of deletes (1000 at a time); the later write lands after the first.
    const flat = seen.flat()
    expect(flat.filter((c) => c.startsWith('-'))).toEqual(many.map((key) => `-${key}`))
    expect(flat.indexOf('k0000=again')).toBeGreaterThan(flat.indexOf('-k0000'))
    expect(await db.iterator().all()).toEqual([
      ['k0000', 'again'],
      ['k9999', 'new']
    ])
    await db.close()
  })

  it('registers a subscriber only once a clear that does not publish is done', async () => {
    const { db, store, seen, listen } = await fresh(keys)
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const original = db.clear.bind(db)
    ;(db as any).clear = async (options: any) => {
      await gate
      return original(options)
    }
    // From 'a': a range that could hold the empty key is always cleared exactly (see clear()).
    const cleared = store.clear({ gte: 'a', keyEncoding: 'utf8', limit: -1, reverse: false })
    let subscribed = false
    const subscribing = store.subscribe(listen).then(() => (subscribed = true))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(subscribed).toBe(false)
    // A clear called meanwhile publishes: the subscriber is on its way.
    const second = store.clear({ gte: 'a', keyEncoding: 'utf8', limit: -1, reverse: false })
    release()
    await Promise.all([cleared, subscribing, second])
    expect(seen).toEqual([])
    expect(await db.keys().all()).toEqual([])
    await db.close()
  })
})
