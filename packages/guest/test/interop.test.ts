import { clearRanges, iteratorCases, scenario, writeCrudSequence } from '@rave-level/test-utils'
import { MemoryLevel } from 'memory-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import {
  type AnyHost,
  connectedGuest,
  connectSocket,
  ManyLevelHost,
  MemoryLevel1,
  memoryHost,
  serve
} from './helpers.js'

const { KEYS, LIMITS, RANGES, SEEKS } = scenario
type IterMode = (typeof scenario.MODES)[number]

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
  for (const { mode, options, seek } of iteratorCases(full)) {
    for (const style of ['all', 'steps'] as const) {
      const expected = await read(twin, mode, options, seek, style)
      const actual = await read(guest, mode, options, seek, style)
      expect(actual, `${mode} ${JSON.stringify(options)} seek ${seek} ${style}`).toEqual(expected)
      n++
    }
  }
  return n
}

/** The same CRUD sequence through the guest and directly on a twin database. */
async function compareCrud(guest: ResumableGuest, twin: MemoryLevel): Promise<void> {
  for (const target of [guest, twin]) {
    await writeCrudSequence(target)
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

  for (const range of clearRanges) {
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

  it('gets the same results with a cache (which a many-level 2 host never grants)', async () => {
    const { host } = create()
    const guest = connectedGuest(host, { cache: { maxBytes: 1 << 20 } })
    for (let i = 0; i < 3; i++) await compareCrud(guest, twin)
    await guest.close()
  })

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
