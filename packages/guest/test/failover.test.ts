import { createConnection } from 'node:net'
import { type Duplex, pipeline, Transform } from 'node:stream'
import { MemoryLevel } from 'memory-level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { type AnyHost, ManyLevelHost, MemoryLevel1, memoryHost, noop, prng, serve } from './helpers.js'

/*
 * Connections die at seeded random points (after a random number of bytes in either
 * direction, so also in the middle of a frame and while iterator data is buffered) under a mix
 * of writes, reads and iterators; the guest is reconnected to a fresh host stream over the same
 * database each time. Every operation must settle as if nothing happened and every iterator
 * must yield exactly what the same reads yield on a database used directly.
 */

// Iterators read a static key space of variable-length keys ('a', 'aa', 'aab', 'ab', 'b', ...)
// with values large enough that the host sends several batches per iterator.
const LETTERS = ['a', 'b', 'c']
const STATIC: string[] = []
for (const x of LETTERS) {
  STATIC.push(x)
  for (const y of LETTERS) {
    STATIC.push(x + y)
    for (const z of LETTERS) STATIC.push(x + y + z)
  }
}
const staticValue = (key: string) => `${key}:${'v'.repeat((key.length * 1700 + key.charCodeAt(0) * 37) % 5000)}`
const staticOps = STATIC.map((key) => ({ type: 'put' as const, key, value: staticValue(key) }))

// Writers use keys starting with 'W' (one prefix per seed), which sort before the static
// ones, so iterators bounded below by '`' never see them.

type Random = ReturnType<typeof prng>
type Step = { op: 'next' } | { op: 'nextv'; size: number } | { op: 'all' } | { op: 'seek'; target: string }

const randomKey = (r: Random) => {
  const n = r.int(4)
  let key = ''
  for (let i = 0; i < n; i++) key += r.pick(['a', 'b', 'c', 'a', 'b', 'c', '`', 'd'])
  return key
}

/** A seeded iterator: its options, and the reads made on it. */
function iteratorSpec(r: Random) {
  const mode = r.pick(['iterator', 'keys', 'values'] as const)
  const options: Record<string, unknown> = { reverse: r.random() < 0.5 }
  const lower = r.int(3)
  if (lower === 0) options.gte = '`'
  else options[lower === 1 ? 'gt' : 'gte'] = randomKey(r) || '`'
  const upper = r.int(3)
  if (upper > 0) options[upper === 1 ? 'lt' : 'lte'] = randomKey(r) || 'c'
  if (r.random() < 0.4) options.limit = r.int(25)
  const seekFirst = r.random() < 0.25 ? randomKey(r) : undefined
  return { mode, options, seekFirst }
}

function nextStep(r: Random): Step {
  const x = r.random()
  if (x < 0.45) return { op: 'next' }
  if (x < 0.85) return { op: 'nextv', size: 1 + r.int(8) }
  if (x < 0.93) return { op: 'seek', target: randomKey(r) }
  return { op: 'all' }
}

/** Read an iterator to its end with seeded steps; returns everything yielded. */
async function consume(db: any, spec: ReturnType<typeof iteratorSpec>, r: Random): Promise<unknown[]> {
  const it = db[spec.mode](spec.options)
  if (spec.seekFirst !== undefined) it.seek(spec.seekFirst)
  const out: unknown[] = []
  let seeks = 0
  try {
    for (let guard = 0; guard < 10_000; guard++) {
      let step = nextStep(r)
      if (step.op === 'seek' && seeks++ > 2) step = { op: 'next' }
      if (step.op === 'seek') {
        it.seek(step.target)
        out.push(`seek:${step.target}`)
      } else if (step.op === 'next') {
        const item = await it.next()
        if (item === undefined) return out
        out.push(item)
      } else {
        const items = step.op === 'all' ? await it.all() : await it.nextv(step.size)
        if (items.length === 0 || step.op === 'all') return out.concat(items)
        out.push(...items)
      }
      // Yield to the event loop now and then so that connections can die mid-iteration.
      if (r.random() < 0.3) await new Promise((resolve) => setImmediate(resolve))
    }
    throw new Error('Iterator did not end')
  } finally {
    await it.close()
  }
}

/**
 * Seeded writes and reads on the 'W' keys, checked against a model. Writes must apply in issue
 * order: the final state equals the model. A read answered on the connection it was sent on
 * must see exactly the writes issued before it. A read retried after a lost connection may also
 * see writes issued after it, when the lost host had applied them before it died (the protocol
 * cannot tell applied-but-unanswered writes from lost ones), but never a value the key had
 * before it was issued.
 */
async function writer(guest: ResumableGuest, r: Random, prefix: string, clears: boolean): Promise<void> {
  const W = (n: number) => `${prefix}${n}`
  const model = new Map<string, string>()
  // Every value each key took, from op index i on: history.get(key) = [[i, value], ...].
  const history = new Map<string, [number, string | undefined][]>()
  const set = (key: string, value: string | undefined, i: number) => {
    if (value === undefined) model.delete(key)
    else model.set(key, value)
    if (!history.has(key)) history.set(key, [])
    history.get(key)?.push([i, value])
  }
  let disconnects = 0
  const onDisconnect = () => disconnects++
  guest.on('disconnect', onDisconnect)
  const check = (i: number, keys: string[]) => {
    const expected = keys.map((k) => model.get(k))
    const before = disconnects
    return (values: unknown[]) => {
      if (disconnects === before) {
        expect(values, `read #${i} of ${keys}`).toEqual(expected)
        return
      }
      keys.forEach((key, j) => {
        const later = (history.get(key) ?? []).filter(([at]) => at > i).map(([, v]) => v)
        expect([expected[j], ...later], `retried read #${i} of ${key}`).toContain(values[j])
      })
    }
  }

  const settled: Promise<unknown>[] = []
  for (let i = 0; i < 60 + r.int(60); i++) {
    const key = W(r.int(12))
    const x = r.random()
    let p: Promise<unknown>
    if (x < 0.35) {
      const value = `${key}@${i}`
      set(key, value, i)
      p = guest.put(key, value)
    } else if (x < 0.45) {
      set(key, undefined, i)
      p = guest.del(key)
    } else if (x < 0.6) {
      const ops = []
      for (let j = 0; j < 1 + r.int(4); j++) {
        const k = W(r.int(12))
        if (r.random() < 0.7) {
          ops.push({ type: 'put' as const, key: k, value: `${k}#${i}.${j}` })
          set(k, `${k}#${i}.${j}`, i)
        } else {
          ops.push({ type: 'del' as const, key: k })
          set(k, undefined, i)
        }
      }
      p = guest.batch(ops)
    } else if (x < 0.62 && clears) {
      for (const k of [...model.keys()]) if (k >= W(3) && k < W(7)) set(k, undefined, i)
      p = guest.clear({ gte: W(3), lt: W(7) })
    } else if (x < 0.85) {
      const verify = check(i, [key])
      p = guest.get(key).then((value) => verify([value]))
    } else {
      const keys = [key, W(r.int(12)), 'nope']
      p = guest.getMany(keys).then(check(i, keys))
    }
    settled.push(p)
    p.catch(noop) // reported by Promise.all below
    const pause = r.random()
    if (pause < 0.2) await p
    else if (pause < 0.36) await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(settled)
  guest.off('disconnect', onDisconnect)
  const entries = await guest.iterator({ gte: prefix, lt: `${prefix}~` }).all()
  expect(entries).toEqual([...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** Passes bytes through until `budget` is spent, then calls `cut` (mid-chunk, so mid-frame). */
function tap(budget: number, cut: () => void): Transform {
  let left = budget
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (left >= chunk.length) {
        left -= chunk.length
        callback(null, chunk)
      } else {
        const part = chunk.subarray(0, left)
        left = 0
        callback(null, part.length > 0 ? part : undefined)
        cut()
      }
    }
  })
}

type Connector = (guest: ResumableGuest, budgetIn: number, budgetOut: number) => void

/** In-process: a fresh host stream over the same database for every connection. */
const viaStreams =
  (host: AnyHost): Connector =>
  (guest, budgetIn, budgetOut) => {
    const g = guest.createRpcStream()
    const h = host.createRpcStream()
    const cut = () => g.destroy()
    pipeline(g, tap(budgetOut, cut), h, tap(budgetIn, cut), g, noop)
  }

/** Over a real unix socket: the cut destroys the client socket. */
const viaSocket =
  (path: string): Connector =>
  (guest, budgetIn, budgetOut) => {
    const socket = createConnection(path)
    const g: Duplex = guest.createRpcStream({ ref: socket })
    const cut = () => socket.destroy()
    pipeline(socket, tap(budgetIn, cut), g, tap(budgetOut, cut), socket, noop)
  }

/**
 * Connect `guest`, and reconnect it after a seeded delay each time its connection is lost;
 * the first `cuts` connections die after a seeded number of bytes. With `forwardTo`, forward
 * to that database instead of making the last connection.
 */
function churn(
  guest: ResumableGuest,
  r: Random,
  cuts: number,
  connector: Connector,
  forwardTo?: MemoryLevel<string, string>
) {
  const state = { lost: 0, stopped: false, stop: () => (state.stopped = true) }
  const connect = () => {
    if (state.stopped) return
    const last = cuts-- <= 0
    if (last && forwardTo !== undefined) guest.forward(forwardTo)
    else connector(guest, last ? Infinity : r.int(20_000), last ? Infinity : r.int(2_000))
  }
  guest.on('disconnect', () => {
    if (state.stopped) return
    state.lost++
    const delay = r.int(4)
    if (delay === 0) connect()
    else setTimeout(connect, delay - 1)
  })
  connect()
  return state
}

/**
 * One seeded run; returns how many connections were lost while it ran. With `forwardTo`, the
 * guest does not reconnect after its last cut but forwards to that database (the one the host
 * serves), as a follower that is elected leader does.
 */
async function scenario(
  seed: number,
  connector: Connector,
  twin: MemoryLevel,
  clears = true,
  forwardTo?: MemoryLevel<string, string>
): Promise<number> {
  const r = prng(seed)
  const guest = new ResumableGuest({ retry: true })
  const chaos = churn(guest, r, 1 + r.int(10), connector, forwardTo)

  const tasks: Promise<unknown>[] = [writer(guest, prng(seed * 7 + 1), `W${seed}.`, clears)]
  const iterators = 3 + r.int(5)
  for (let i = 0; i < iterators; i++) {
    const specSeed = seed * 1000 + i
    const spec = iteratorSpec(prng(specSeed))
    tasks.push(
      (async () => {
        const expected = await consume(twin, spec, prng(specSeed + 1))
        const actual = await consume(guest, spec, prng(specSeed + 1))
        expect(actual, `iterator ${i}: ${spec.mode} ${JSON.stringify(spec.options)} seek ${spec.seekFirst}`).toEqual(
          expected
        )
      })()
    )
  }
  try {
    await Promise.all(tasks)
  } catch (err) {
    ;(err as Error).message = `seed ${seed}: ${(err as Error).message}`
    throw err
  } finally {
    chaos.stop()
    await guest.close()
  }
  return chaos.lost
}

/**
 * Without retry: connections die at seeded random points, and every operation must still
 * settle, either as on a database used directly or with `LEVEL_CONNECTION_LOST`; an iterator
 * yields a correct prefix of its entries, then fails with that code.
 */
async function noRetryScenario(seed: number, connector: Connector, twin: MemoryLevel): Promise<number> {
  const r = prng(seed)
  const guest = new ResumableGuest({ retry: false })
  const chaos = churn(guest, r, 1 + r.int(6), connector)
  let failures = 0
  const lost = (err: any) => {
    expect(err.code, `seed ${seed}`).toBe('LEVEL_CONNECTION_LOST')
    failures++
    return 'lost'
  }
  const tasks: Promise<unknown>[] = []
  for (let i = 0; i < 40; i++) {
    const key = `N${seed}.${r.int(5)}`
    tasks.push(guest.put(key, `v${i}`).catch(lost))
    tasks.push(guest.get(key).catch(lost))
    if (r.random() < 0.2) await new Promise((resolve) => setImmediate(resolve))
  }
  for (let i = 0; i < 3; i++) {
    const specSeed = seed * 1000 + i
    const spec = iteratorSpec(prng(specSeed))
    tasks.push(
      (async () => {
        const expected = await consume(twin, spec, prng(specSeed + 1))
        const it = (guest as any)[spec.mode](spec.options)
        const steps = prng(specSeed + 1)
        const actual: unknown[] = []
        try {
          actual.push(...(await consume({ [spec.mode]: () => it }, spec, steps)))
        } catch (err) {
          lost(err)
          await it.close()
        }
        expect(expected.slice(0, actual.length), `seed ${seed}, iterator ${i}`).toEqual(actual)
      })()
    )
  }
  try {
    await Promise.all(tasks)
  } finally {
    chaos.stop()
    await guest.close()
  }
  return failures
}

describe('failover: connections die at random points', () => {
  let twin: MemoryLevel

  beforeAll(async () => {
    twin = new MemoryLevel()
    await twin.batch(staticOps)
  })

  afterAll(() => twin.close())

  it('LevelHost, in-process streams, 150 seeds', async () => {
    const { db, host } = memoryHost()
    await db.batch(staticOps)
    let lost = 0
    for (let seed = 1; seed <= 150; seed++) lost += await scenario(seed, viaStreams(host), twin)
    // The runs must actually lose connections while busy, or the test proves little.
    expect(lost).toBeGreaterThan(150 * 4)
    await db.close()
  }, 120_000)

  it('LevelHost, then forward() to its database after the last cut, 60 seeds', async () => {
    const { db, host } = memoryHost()
    await db.batch(staticOps)
    for (let seed = 3001; seed <= 3060; seed++) await scenario(seed, viaStreams(host), twin, true, db)
    await db.close()
  }, 120_000)

  it('without retry, everything settles: as usual or with LEVEL_CONNECTION_LOST, 60 seeds', async () => {
    const { db, host } = memoryHost()
    await db.batch(staticOps)
    let failures = 0
    for (let seed = 4001; seed <= 4060; seed++) failures += await noRetryScenario(seed, viaStreams(host), twin)
    expect(failures).toBeGreaterThan(60) // connections were really lost under load
    await db.close()
  }, 120_000)

  it("many-level 2's ManyLevelHost (resume does not depend on the host), 40 seeds", async () => {
    const db = new MemoryLevel1()
    await db.batch(staticOps)
    const host = new ManyLevelHost(db)
    // Without clear(): many-level 2's host does not order a clear() before later writes.
    for (let seed = 1001; seed <= 1040; seed++) await scenario(seed, viaStreams(host), twin, false)
  }, 120_000)

  it('LevelHost over a unix socket, 30 seeds', async () => {
    const { db, host } = memoryHost()
    await db.batch(staticOps)
    const server = await serve(host)
    try {
      for (let seed = 2001; seed <= 2030; seed++) await scenario(seed, viaSocket(server.path), twin)
    } finally {
      await server.close()
      await db.close()
    }
  }, 120_000)
})
