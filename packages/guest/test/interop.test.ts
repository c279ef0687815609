import { MemoryLevel } from 'memory-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { type AnyHost, connectedGuest, connectSocket, ManyLevelHost, MemoryLevel1, memoryHost, serve } from './helpers.js'

// Variable-length keys: the cases where byte-wise order differs from "shorter first".
const KEYS = ['a', 'aa', 'aab', 'ab', 'b', 'ba', 'bb', 'c', 'ca', 'd']
const RANGES: object[] = [
  {},
  { gt: 'a' },
  { gte: 'aa' },
  { lt: 'b' },
  { lte: 'ba' },
  { gt: 'aa', lt: 'c' },
  { gte: 'ab', lte: 'ca' },
  { gte: 'b', lte: 'b' },
  { gt: 'zz' },
  { lt: '' }
]
const LIMITS = [-1, 0, 1, 2, 5]
const SEEKS = [undefined, 'ab', 'b', '0', 'zz']
const MODES = ['iterator', 'keys', 'values'] as const
type IterMode = (typeof MODES)[number]

/** Two ways to read: all() at once, or next()/nextv() with a seek half way. */
async function read(db: any, mode: IterMode, options: object, seek: string | undefined, style: 'all' | 'steps') {
  const it = db[mode](options)
  if (style === 'all') {
    if (seek !== undefined) it.seek(seek)
    return it.all()
  }
  const items = [await it.next(), ...(await it.nextv(2))]
  if (seek !== undefined) it.seek(seek)
  for (let item = await it.next(); item !== undefined; item = await it.next()) items.push(item)
  items.push(...(await it.nextv(3)))
  await it.close()
  return items
}

/** Every iterator mode and option combination, compared with a memory-level 3 twin. */
async function compareIterators(guest: ResumableGuest, twin: MemoryLevel, full: boolean): Promise<number> {
  let n = 0
  for (const mode of MODES) {
    for (const reverse of [false, true]) {
      for (const limit of full ? LIMITS : [-1, 2]) {
        for (const range of full ? RANGES : RANGES.slice(0, 6)) {
          for (const seek of full ? SEEKS : SEEKS.slice(0, 3)) {
            for (const style of ['all', 'steps'] as const) {
              const options = { ...range, reverse, limit }
              const expected = await read(twin, mode, options, seek, style)
              const actual = await read(guest, mode, options, seek, style)
              expect(actual, `${mode} ${JSON.stringify(options)} seek ${seek} ${style}`).toEqual(expected)
              n++
            }
          }
        }
      }
    }
  }
  return n
}

/** The same CRUD sequence through the guest and directly on a twin database. */
async function compareCrud(guest: ResumableGuest, twin: MemoryLevel): Promise<void> {
  for (const target of [guest, twin]) {
    await target.put('k1', 'v1')
    await target.put('k2', 'v2')
    await target.put('k3', 'v3')
    await target.del('k2')
    await target.batch([
      { type: 'put', key: 'k4', value: 'v4' },
      { type: 'del', key: 'k1' },
      { type: 'put', key: 'k5', value: '' },
      { type: 'put', key: 'k6', value: 'v6' },
      { type: 'put', key: 'k7', value: 'v7' }
    ])
    await target.batch().put('k8', 'v8').del('k7').write()
  }
  expect(await guest.get('k3')).toBe('v3')
  expect(await guest.get('k5')).toBe('')
  expect(await guest.get('k2')).toBeUndefined()
  expect(await guest.get('k2', { valueEncoding: 'buffer' })).toBeUndefined()
  expect(await guest.get('k3', { valueEncoding: 'buffer' })).toEqual(Buffer.from('v3'))
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'nope']
  expect(await guest.getMany(keys)).toEqual(await twin.getMany(keys))
  expect(await guest.getMany([])).toEqual([])
  expect(await guest.has('k5')).toBe(true)
  expect(await guest.has('k1')).toBe(false)
  expect(await guest.hasMany(keys)).toEqual([false, false, true, true, true, false])
  expect(await guest.iterator().all()).toEqual(await twin.iterator().all())

  for (const range of [{ gt: 'k3', lt: 'k6' }, { gte: 'k6', limit: 1 }, { reverse: true, limit: 1 }, {}]) {
    await guest.clear(range)
    await twin.clear(range)
    expect(await guest.iterator().all(), JSON.stringify(range)).toEqual(await twin.iterator().all())
  }
  expect(await guest.iterator().all()).toEqual([])
}

const hosts: { name: string; create(): { host: AnyHost; fill(): Promise<void> } }[] = [
  {
    name: "many-level 2's ManyLevelHost over memory-level 1",
    create() {
      const db = new MemoryLevel1()
      return {
        host: new ManyLevelHost(db),
        fill: () => db.batch(KEYS.map((key) => ({ type: 'put', key, value: `${key}-value` })))
      }
    }
  },
  {
    name: 'LevelHost over memory-level 3',
    create() {
      const { db, host } = memoryHost()
      return { host, fill: () => db.batch(KEYS.map((key) => ({ type: 'put' as const, key, value: `${key}-value` }))) }
    }
  }
]

describe.each(hosts)('ResumableGuest against $name', ({ create }) => {
  let twin: MemoryLevel

  beforeEach(async () => {
    twin = new MemoryLevel()
    await twin.open()
  })

  afterEach(async () => {
    await twin.close()
  })

  async function fillTwin() {
    await twin.batch(KEYS.map((key) => ({ type: 'put' as const, key, value: `${key}-value` })))
  }

  for (const retry of [true, false]) {
    it(`gets the same results for CRUD, batch, getMany, has and clear (retry: ${retry})`, async () => {
      const { host } = create()
      const guest = connectedGuest(host, { retry })
      await compareCrud(guest, twin)
      await guest.close()
    })

    it(`iterates like the database in every mode (retry: ${retry})`, async () => {
      const { host, fill } = create()
      await fill()
      await fillTwin()
      const guest = connectedGuest(host, { retry })
      const n = await compareIterators(guest, twin, true)
      expect(n).toBe(3 * 2 * LIMITS.length * RANGES.length * SEEKS.length * 2)
      await guest.close()
    })
  }

  it('works over a unix socket', async () => {
    const { host, fill } = create()
    const server = await serve(host)
    const guest = new ResumableGuest()
    connectSocket(guest, server.path)
    try {
      await compareCrud(guest, twin)
      await fill()
      await fillTwin()
      await compareIterators(guest, twin, false)
    } finally {
      await guest.close()
      await server.close()
    }
  })

  it('pipelines many operations in issue order', async () => {
    const { host } = create()
    const guest = connectedGuest(host)
    const ops: Promise<unknown>[] = []
    const gets: Promise<string | undefined>[] = []
    const expected: (string | undefined)[] = []
    const model = new Map<string, string>()
    for (let i = 0; i < 2000; i++) {
      const key = `k${i % 50}`
      ops.push(guest.put(key, `v${i}`))
      model.set(key, `v${i}`)
      if (i % 7 === 0) {
        ops.push(guest.del(key))
        model.delete(key)
      }
      if (i % 5 === 0) {
        gets.push(guest.get(`k${(i * 3) % 50}`))
        expected.push(model.get(`k${(i * 3) % 50}`))
      }
    }
    await Promise.all(ops)
    expect(await Promise.all(gets)).toEqual(expected)
    expect(await guest.iterator().all()).toEqual([...model].sort(([a], [b]) => (a < b ? -1 : 1)))
    await guest.close()
  })
})
