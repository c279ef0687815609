// The timed loops. They run inside a worker process (worker.mjs), next to the database they
// measure, so that no IPC hop of the harness lands inside a figure. Rates are operations (or
// entries, or round trips) per second.
import net from 'node:net'
import { key, value } from './data.mjs'

/** The monotonic clock in nanoseconds: one clock for every process of this machine. */
export const now = () => process.hrtime.bigint()
const seconds = (t0) => Number(now() - t0) / 1e9

/** Run `step(i)` for i in [0, n) one after the other; return the rate. */
async function serially(n, step) {
  const t0 = now()
  for (let i = 0; i < n; i++) await step(i)
  return n / seconds(t0)
}

/** Run `step(i)` for i in [0, n) with `window` in flight at a time; return the rate. */
async function windowed(n, window, step) {
  let next = 0
  const lane = async () => {
    while (next < n) await step(next++)
  }
  const t0 = now()
  await Promise.all(Array.from({ length: Math.min(window, n) }, lane))
  return n / seconds(t0)
}

// A first pass that is not timed: the JIT, the connection and LevelDB's caches warm up on it.
const warmUp = (n) => Math.max(50, Math.min(1_000, Math.floor(n / 5)))

/** Sequential put, then get, then del of the same `n` keys. */
export async function sequential(db, { n }) {
  const w = warmUp(n)
  await serially(w, (i) => db.put(key('w', i), value(i)))
  await serially(w, (i) => db.get(key('w', i)))
  await serially(w, (i) => db.del(key('w', i)))
  const put = await serially(n, (i) => db.put(key('s', i), value(i)))
  const get = await serially(n, (i) => db.get(key('s', i)))
  const del = await serially(n, (i) => db.del(key('s', i)))
  return { put, get, del }
}

/** Pipelined put, then get, of `n` keys with `window` operations in flight. */
export async function pipelined(db, { n, window }) {
  await windowed(warmUp(n), window, (i) => db.put(key('w', i), value(i)))
  await windowed(warmUp(n), window, (i) => db.get(key('w', i)))
  const put = await windowed(n, window, (i) => db.put(key('p', i), value(i)))
  const get = await windowed(n, window, (i) => db.get(key('p', i)))
  return { put, get }
}

/** Ways to read the `n` entries that `populate` wrote (a follower has written one key more). */
export const ITERATIONS = {
  'for await, keys+values': (db, options) => forAwait(db.iterator(options)),
  'for await, keys only': (db, options) => forAwait(db.keys(options)),
  'all(), keys+values': async (db, options) => (await db.iterator(options).all()).length,
  'all(), keys only': async (db, options) => (await db.keys(options).all()).length
}

async function forAwait(iterator) {
  let n = 0
  for await (const _ of iterator) n++
  return n
}

/** Every way of `ITERATIONS` over the whole database; entries per second. */
export async function iterate(db, { n }) {
  const result = {}
  for (const [name, read] of Object.entries(ITERATIONS)) {
    await read(db, { ...POPULATED, limit: warmUp(n) })
    const t0 = now()
    const count = await read(db, POPULATED)
    result[name] = count / seconds(t0)
    if (count !== n) throw new Error(`${name}: iterated ${count} of ${n} entries`)
  }
  return result
}

const POPULATED = { gte: 'i', lt: 'j' }

/** Write `n` entries in batches (not timed): the data that `iterate` reads. */
export async function populate(db, { n }) {
  for (let i = 0; i < n; i += 1_000) {
    const ops = []
    for (let j = i; j < Math.min(n, i + 1_000); j++) ops.push({ type: 'put', key: key('i', j), value: value(j) })
    await db.batch(ops)
  }
}

/**
 * Write from `startAt` until `endAt` (shared monotonic clock, ns, as strings): sequentially, or
 * with `window` puts in flight. Counts the puts that completed between `countFrom` and `endAt`,
 * so that several processes writing at once can be added up over the same interval, once their
 * pipelines are full (before that, a window of puts in flight completes nothing for a while).
 */
export async function write(db, { prefix, window, startAt, countFrom, endAt }) {
  const start = BigInt(startAt)
  const from = BigInt(countFrom)
  const end = BigInt(endAt)
  const wait = Number(start - now()) / 1e6
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const late = Math.max(0, Number(now() - start) / 1e6)
  let i = 0
  let count = 0
  const lane = async () => {
    while (now() < end) {
      const j = i++
      await db.put(key(prefix, j), value(j))
      const t = now()
      if (t >= from && t <= end) count++
    }
  }
  await Promise.all(Array.from({ length: window }, lane))
  return { count, late }
}

// The bare round trip: 40-byte frames, a 4-byte big-endian length and 36 bytes of body, parsed
// on both sides as a real protocol would, one in flight at a time.
const FRAME = Buffer.alloc(40)
FRAME.writeUInt32BE(FRAME.length - 4, 0)

/** Call `onFrame(frame)` for every length-prefixed frame that arrives on `socket`. */
function frames(socket, onFrame) {
  let buffered = Buffer.alloc(0)
  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
      const size = 4 + buffered.readUInt32BE(0)
      onFrame(buffered.subarray(0, size))
      buffered = buffered.subarray(size)
    }
  })
}

/** Serve an echo of every frame on the unix socket `path`; resolves once listening. */
export async function echo({ path }) {
  const server = net.createServer((socket) => frames(socket, (frame) => socket.write(frame)))
  await new Promise((resolve, reject) => server.once('error', reject).listen(path, resolve))
  return {}
}

/**
 * Connect to the server at `path` in process `pid`, SIGKILL that process and time until the
 * connection closes (ms): the kernel's part of any failover, the floor under it.
 */
export async function killToClose({ path, pid }) {
  const socket = net.connect(path)
  await new Promise((resolve, reject) => socket.once('error', reject).once('connect', resolve))
  socket.on('error', () => {}) // ECONNRESET, as the peer dies
  const closed = new Promise((resolve) => socket.once('close', resolve))
  const t0 = now()
  process.kill(pid, 'SIGKILL')
  await closed
  return { ms: Number(now() - t0) / 1e6 }
}

/** `n` sequential round trips to the echo server at `path`; round trips per second. */
export async function pingPong({ path, n }) {
  const socket = net.connect(path)
  await new Promise((resolve, reject) => socket.once('error', reject).once('connect', resolve))
  let resolveRun
  let left = 0
  frames(socket, () => (--left === 0 ? resolveRun() : socket.write(FRAME)))
  const run = (count) =>
    new Promise((resolve) => {
      resolveRun = resolve
      left = count
      socket.write(FRAME)
    })
  await run(warmUp(n))
  const t0 = now()
  await run(n)
  const rate = n / seconds(t0)
  socket.destroy()
  return { roundTrips: rate }
}
