import { clearRanges, iteratorCases, scenario, writeCrudSequence } from '@rave-level/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { flavours, inProcessGuest, serve, socketGuest, until } from './helpers.js'

const { KEYS, LIMITS, RANGES, SEEKS } = scenario
type IterMode = (typeof scenario.MODES)[number]

async function fill(db: any): Promise<void> {
  await db.batch(KEYS.map((key) => ({ type: 'put', key, value: `${key}-value` })))
}

async function read(db: any, mode: IterMode, options: object, seek: string | undefined) {
  const it = db[mode](options)
  if (seek !== undefined) it.seek(seek)
  const items = await it.all()
  return items
}

/** Every iterator mode and option combination, compared with the database used directly. */
async function compareIterators(guest: any, db: any, full: boolean): Promise<number> {
  let n = 0
  for (const { mode, options, seek } of iteratorCases(full)) {
    const expected = await read(db, mode, options, seek)
    const actual = await read(guest, mode, options, seek)
    expect(actual, `${mode} ${JSON.stringify(options)} seek ${seek}`).toEqual(expected)
    n++
  }
  return n
}

/** The same CRUD sequence through the guest and directly on a twin database. */
async function compareCrud(guest: any, twin: any): Promise<void> {
  for (const target of [guest, twin]) {
    await writeCrudSequence(target)
  }
  expect(await guest.get('k3')).toBe(await twin.get('k3'))
  expect(await guest.get('k5')).toBe('')
  // abstract-level 3 yields undefined for a missing key; the many-level 2 guest (abstract-level 1)
  // rejects with LEVEL_NOT_FOUND, exactly as it does against many-level's own host.
  expect(await twin.get('k2')).toBeUndefined()
  await expect(guest.get('k2')).rejects.toMatchObject({ code: 'LEVEL_NOT_FOUND' })
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'nope']
  expect(await guest.getMany(keys)).toEqual(await twin.getMany(keys))
  expect(await guest.iterator().all()).toEqual(await twin.iterator().all())

  for (const range of clearRanges) {
    await guest.clear(range)
    await twin.clear(range)
    expect(await guest.iterator().all(), JSON.stringify(range)).toEqual(await twin.iterator().all())
  }
  expect(await twin.iterator().all()).toEqual([])
}

describe.each(flavours)('many-level 2 guest against LevelHost over $name', (flavour) => {
  let db: any
  let twin: any
  let dispose: () => Promise<void>

  beforeEach(async () => {
    const a = await flavour.create()
    const b = await flavour.create()
    db = a.db
    twin = b.db
    dispose = async () => {
      await a.dispose()
      await b.dispose()
    }
  })

  afterEach(async () => {
    await dispose()
  })

  it('gets the same results for CRUD, batch, getMany and clear', async () => {
    const host = new LevelHost(db)
    const faults: Error[] = []
    host.on('fault', (err) => faults.push(err))
    const guest = inProcessGuest(host)
    await compareCrud(guest, twin)
    await guest.close()
    // A guest that closes is not a fault.
    await until(() => host.connections === 0)
    expect(faults).toEqual([])
  })

  it('iterates like the database in every mode', async () => {
    await fill(db)
    const host = new LevelHost(db)
    const guest = inProcessGuest(host)
    const n = await compareIterators(guest, db, true)
    expect(n).toBe(3 * 2 * LIMITS.length * RANGES.length * SEEKS.length)
    await guest.close()
  })

  it('works over a unix socket', async () => {
    const host = new LevelHost(db)
    const faults: Error[] = []
    host.on('fault', (err) => faults.push(err))
    const server = await serve(host)
    const guest = socketGuest(server.path)
    try {
      await compareCrud(guest, twin)
      await fill(db)
      await compareIterators(guest, db, false)
    } finally {
      await guest.close()
      await server.close()
    }
    await until(() => host.connections === 0 && host.iterators === 0)
    expect(faults).toEqual([])
  })

  it('pipelines many operations in order', async () => {
    const host = new LevelHost(db)
    const guest = inProcessGuest(host)
    const ops: Promise<unknown>[] = []
    for (let i = 0; i < 2000; i++) {
      const key = `k${i % 50}`
      ops.push(guest.put(key, `v${i}`))
      if (i % 7 === 0) ops.push(guest.del(key))
    }
    await Promise.all(ops)
    for (let i = 0; i < 2000; i++) {
      const key = `k${i % 50}`
      await twin.put(key, `v${i}`)
      if (i % 7 === 0) await twin.del(key)
    }
    expect(await guest.iterator().all()).toEqual(await twin.iterator().all())
    // A read issued after writes sees them; one issued before does not see later ones.
    const before = guest.get('k0').catch((err: any) => err.code)
    const put = guest.put('k0', 'late')
    const after = guest.get('k0')
    expect([await before, await put, await after]).toEqual([
      (await twin.get('k0')) ?? 'LEVEL_NOT_FOUND',
      undefined,
      'late'
    ])
    await guest.close()
  })
})
