// The guest's side of change feeds: what a watch yields, its encodings and sublevels, its own
// bound, and hosts without the feature.
import { afterEach, describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { connectedGuest, connectSocket, ManyLevelHost, MemoryLevel1, memoryHost, serve, until } from './helpers.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close()
})

describe('watch()', () => {
  it('on nested sublevels, with encodings, keys or values only', async () => {
    const { host } = memoryHost()
    const guest = connectedGuest(host)
    open.push(guest)
    const outer = guest.sublevel('a')
    const inner = outer.sublevel<string, { n: number }>('b', { valueEncoding: 'json' })
    const w = inner.watch({ gte: 'k2' })
    const keysOnly = outer.watch({ values: false })
    const valuesOnly = guest.watch({ keys: false, valueEncoding: 'json' })
    await Promise.all([w.ready, keysOnly.ready, valuesOnly.ready])
    await inner.batch([
      { type: 'put', key: 'k1', value: { n: 1 } },
      { type: 'put', key: 'k2', value: { n: 2 } }
    ])
    await outer.put('x', '"s"')
    await inner.del('k2')
    await guest.put('!a"', '"outside"')
    const take = async <T>(it: AsyncIterator<T>, n: number) => {
      const out: T[] = []
      while (out.length < n) out.push((await it.next()).value as T)
      return out
    }
    expect(await take(w, 2)).toEqual([
      { type: 'put', key: 'k2', value: { n: 2 } },
      { type: 'del', key: 'k2' }
    ])
    expect(await take(keysOnly, 4)).toEqual([
      { type: 'put', key: '!b!k1' },
      { type: 'put', key: '!b!k2' },
      { type: 'put', key: 'x' },
      { type: 'del', key: '!b!k2' }
    ])
    expect(await take(valuesOnly, 5)).toEqual([
      { type: 'put', value: { n: 1 } },
      { type: 'put', value: { n: 2 } },
      { type: 'put', value: 's' },
      { type: 'del' },
      { type: 'put', value: 'outside' }
    ])
  })

  it('yields buffer and view keys and values as the bytes written, prefix removed', async () => {
    const { host } = memoryHost()
    const guest = connectedGuest(host)
    open.push(guest)
    const sub = guest.sublevel<Buffer, Buffer>('s', { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    const bytes = sub.watch()
    const views = guest.watch<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
    await Promise.all([bytes.ready, views.ready])
    const key = Buffer.from([0xff, 0x00, 0x80])
    const value = Buffer.from([0xc3, 0x28, 0x00])
    await sub.put(key, value)
    await sub.del(key)
    const [put, del] = [(await bytes.next()).value, (await bytes.next()).value]
    expect(put).toEqual({ type: 'put', key, value })
    expect(Buffer.isBuffer(put.key) && Buffer.isBuffer(put.value)).toBe(true)
    expect(del).toEqual({ type: 'del', key })
    const viewed = (await views.next()).value
    expect(viewed.key).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(viewed.key)).toEqual(Buffer.concat([Buffer.from('!s!'), key]))
    expect(Buffer.from(viewed.value)).toEqual(value)
  })

  it('keeps at most about 1 MiB for a consumer that does not iterate, then a gap', async () => {
    const { host } = memoryHost()
    const guest = connectedGuest(host)
    open.push(guest)
    const w = guest.watch()
    await w.ready
    const value = 'x'.repeat(1024)
    for (let i = 0; i < 4000; i += 100) {
      await guest.batch(Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, key: `k${i + j}`, value })))
    }
    await guest.put('end', 'end')
    const seen: string[] = []
    for await (const change of w) {
      seen.push(change.type === 'gap' ? 'gap' : change.key)
      if (seen.at(-1) === 'end') break
    }
    // The oldest were dropped for one gap; what fits the bound after it is kept, in order.
    expect(seen[0]).toBe('gap')
    expect(seen.filter((s) => s === 'gap')).toHaveLength(1)
    expect(seen.length).toBeGreaterThan(2)
    expect(seen.length).toBeLessThan(1100)
    const numbers = seen.slice(1, -1).map((k) => Number(k.slice(1)))
    expect(numbers).toEqual(numbers.map((_, i) => (numbers[0] as number) + i))
    expect(numbers.at(-1)).toBe(3999)
  })

  it('fails ready and iteration with LEVEL_NOT_SUPPORTED on a many-level 2 host (over a unix socket)', async () => {
    const served = await serve(new ManyLevelHost(new MemoryLevel1()))
    open.push(served)
    const guest = new ResumableGuest()
    connectSocket(guest, served.path)
    open.push(guest)
    const w = guest.watch()
    await expect(w.ready).rejects.toMatchObject({ code: 'LEVEL_NOT_SUPPORTED' })
    await expect(w.next()).rejects.toMatchObject({ code: 'LEVEL_NOT_SUPPORTED' })
    // Everything else goes on.
    await guest.put('k', 'v')
    expect(await guest.get('k')).toBe('v')
  })

  it('fails with LEVEL_DATABASE_NOT_OPEN once the guest is closed, and ends when it closes', async () => {
    const { host } = memoryHost()
    const guest = connectedGuest(host)
    const w = guest.watch()
    await w.ready
    const next = w.next()
    await guest.close()
    expect(await next).toEqual({ done: true, value: undefined })
    await until(() => host.watches === 0)
    const late = guest.watch()
    await expect(late.ready).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
  })
})
