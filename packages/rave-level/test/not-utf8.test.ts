// A leader reads iterators as text where it can (faster with classic-level) and changes to
// buffers at the first key or value that is not UTF-8. A follower must still get exactly the
// stored bytes, wherever such an entry is: first, in the middle of a read, after a seek.
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, tempDir } from './helpers.js'

afterEach(cleanup)

const b = (s: string) => Buffer.from(s)
const NOT_UTF8 = Buffer.from([0x61, 0xc3, 0x28, 0x62])

/** Sorted, distinct entries; some keys and values are not UTF-8, some hold a real U+FFFD. */
function entries(n: number, bad: number[]): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = []
  for (let i = 0; i < n; i++) {
    const key = b(`k${String(i).padStart(5, '0')}`)
    let value = b(`value ${i}`)
    if (bad.includes(i)) {
      if (i % 3 === 0) value = NOT_UTF8
      else if (i % 3 === 1) value = b('ok \uFFFD ok')
      else key[5] = 0xff
    }
    out.push([key, value])
  }
  return out.sort((x, y) => Buffer.compare(x[0], y[0]))
}

async function follower(data: [Buffer, Buffer][]) {
  const location = tempDir()
  const leader = new Peer(location)
  await leader.event('leader')
  const db = new RaveLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  defer(() => db.close())
  await db.open()
  expect(db.role).toBe('follower')
  await db.batch(data.map(([key, value]) => ({ type: 'put' as const, key, value })))
  return db
}

describe('a follower iterates keys and values that are not UTF-8', () => {
  for (const [name, bad] of [
    ['the first entry', [0]],
    ['a real U+FFFD first', [1]],
    ['entries here and there', [1, 2, 700, 1500, 2999]],
    ['a key at the end', [2999]]
  ] as const) {
    it(`exactly, with ${name}`, async () => {
      const data = entries(3000, [...bad])
      const db = await follower(data)
      for (const reverse of [false, true]) {
        const want = reverse ? [...data].reverse() : data
        expect(await db.iterator({ reverse }).all()).toEqual(want)
        expect(await db.keys({ reverse }).all()).toEqual(want.map((e) => e[0]))
        const got: [Buffer, Buffer][] = []
        for await (const entry of db.iterator({ reverse })) got.push(entry)
        expect(got).toEqual(want)
        expect(await db.iterator({ reverse, limit: 1000 }).all()).toEqual(want.slice(0, 1000))
        const [lo, hi] = [(data[10] as [Buffer, Buffer])[0], (data[2000] as [Buffer, Buffer])[0]]
        const inRange = data.filter(([k]) => Buffer.compare(k, lo) > 0 && Buffer.compare(k, hi) <= 0)
        expect(await db.iterator({ reverse, gt: lo, lte: hi }).all()).toEqual(reverse ? inRange.reverse() : inRange)
        const it = db.iterator({ reverse })
        await it.nextv(5)
        const target = (data[1500] as [Buffer, Buffer])[0]
        it.seek(target)
        const rest = data.filter(([k]) => (reverse ? Buffer.compare(k, target) <= 0 : Buffer.compare(k, target) >= 0))
        expect(await it.all()).toEqual(reverse ? rest.reverse() : rest)
      }
    })
  }

  it('exactly, within a range whose bound is not UTF-8', async () => {
    const data = entries(500, [3, 250])
    const db = await follower(data)
    const bound = Buffer.from([0x6b, 0x30, 0x30, 0x31, 0xff])
    const want = data.filter(([k]) => Buffer.compare(k, bound) >= 0)
    expect(await db.iterator({ gte: bound }).all()).toEqual(want)
    expect(await db.iterator({ gte: bound, reverse: true }).all()).toEqual([...want].reverse())
  })
})
