// The timed loops. They run inside a worker process (worker.mjs), next to the database they
// measure, so that no IPC hop of the harness lands inside a figure. Rates are operations (or
// entries, or round trips) per second.
import net from 'node:net'
import tls from 'node:tls'
import { key, value } from './data.mjs'

/** The monotonic clock in nanoseconds: one clock for every process of this machine. */
export const now = () => process.hrtime.bigint()
const seconds = (t0) => Number(now() - t0) / 1e9

/** Run `step(i)` for i in [0, n) with `window` in flight at a time (1: one after the other). */
async function windowed(n, window, step) {
  let next = 0
  const lane = async () => {
    while (next < n) await step(next++)
  }
  await Promise.all(Array.from({ length: Math.min(window, n) }, lane))
}

/** Time `fn()`, which handles `count` operations or entries. */
async function timed(count, fn) {
  const t0 = now()
  await fn()
  return { count, seconds: seconds(t0) }
}

const OPS = {
  put: (db, prefix, i) => db.put(key(prefix, i), value(i)),
  get: (db, prefix, i) => db.get(key(prefix, i)),
  del: (db, prefix, i) => db.del(key(prefix, i))
}

/**
 * The untimed first pass: `n` of each of `ops`, in order, on keys of their own. The JIT, the
 * connection and LevelDB's caches warm up on it.
 */
export async function warm(db, { ops, n, window = 1 }) {
  for (const op of ops) await windowed(n, window, (i) => OPS[op](db, 'w', i))
}

/** One timed slice: `op` on the keys [from, from + count) under `prefix`, `window` in flight. */
export const slice = (db, { op, prefix, from, count, window = 1 }) =>
  timed(count, () => windowed(count, window, (i) => OPS[op](db, prefix, from + i)))

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

/** The untimed first pass of every way of reading, over the first `n` entries. */
export async function warmIterate(db, { n }) {
  for (const read of Object.values(ITERATIONS)) await read(db, { ...POPULATED, limit: n })
}

/** One timed pass over the `n` entries, read the way named `mode`. */
export async function pass(db, { mode, n }) {
  let count
  const result = await timed(n, async () => (count = await ITERATIONS[mode](db, POPULATED)))
  if (count !== n) throw new Error(`${mode}: iterated ${count} of ${n} entries`)
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

/** CPU time this process used so far (user and system, every thread): ms. */
export function cpuNow() {
  const { user, system } = process.cpuUsage()
  return { ms: (user + system) / 1000 }
}

/**
 * CPU time this process used (user and system, every thread) between the monotonic times
 * `from` and `to` (ns, as strings): ms. Resolves after `to`; sampled by timers, so a busy
 * process samples late by what it is doing at the time (well below a millisecond here).
 */
export async function cpuBetween({ from, to }) {
  const at = async (t) => {
    const wait = Number(BigInt(t) - now()) / 1e6
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    return cpuNow().ms
  }
  const start = await at(from)
  return { ms: (await at(to)) - start }
}

// The bare round trip: 40-byte frames, a 4-byte big-endian length and 36 bytes of body, parsed
// on both sides as a real protocol would, one in flight at a time. The body's first byte asks
// an echo server with a database to put or get a key before it answers (a bare leader).
const FRAME_OPS = ['none', 'put', 'get']
const frameOf = (op) => {
  const frame = Buffer.alloc(40)
  frame.writeUInt32BE(frame.length - 4, 0)
  frame[4] = FRAME_OPS.indexOf(op)
  return frame
}
/** Keys the bare leader cycles through (written when it opens). */
const BARE_KEYS = 1_000

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

/**
 * Serve an echo of every frame: on the unix socket `path`, or with `transport` 'tcp' or 'tls'
 * (`key` and `cert`, PEM) on a free port of 127.0.0.1. With `location`, a bare leader: it opens
 * classic-level there and, for a frame that asks, puts or gets a key before it echoes.
 * Resolves once listening, with the port.
 */
export async function echo({ path, transport = 'unix', key: tlsKey, cert, location }) {
  let store
  if (location !== undefined) {
    const { ClassicLevel } = await import('classic-level')
    store = new ClassicLevel(location)
    await store.open()
    await store.batch(Array.from({ length: BARE_KEYS }, (_, i) => ({ type: 'put', key: key('b', i), value: value(i) })))
  }
  let n = 0
  const onConnection = (socket) => {
    socket.setNoDelay?.(true)
    frames(socket, (frame) => {
      const op = store === undefined ? 'none' : FRAME_OPS[frame[4]]
      if (op === 'none') {
        socket.write(frame)
        return
      }
      const i = n++ % BARE_KEYS
      const done = op === 'put' ? store.put(key('b', i), value(i)) : store.get(key('b', i))
      done.then(() => socket.write(frame))
    })
  }
  const server =
    transport === 'tls' ? tls.createServer({ key: tlsKey, cert }, onConnection) : net.createServer(onConnection)
  const where = transport === 'unix' ? path : { host: '127.0.0.1', port: 0 }
  await new Promise((resolve, reject) => server.once('error', reject).listen(where, resolve))
  return { port: transport === 'unix' ? undefined : server.address().port }
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

let client

/**
 * Connect to the echo server at `path` (or, with `transport` 'tcp' or 'tls', at `port` of
 * 127.0.0.1, trusting `ca`) and warm up with `n` round trips (untimed).
 */
export async function connect({ path, n, transport = 'unix', port, ca }) {
  const socket =
    transport === 'unix'
      ? net.connect(path)
      : transport === 'tcp'
        ? net.connect(port, '127.0.0.1')
        : tls.connect({ host: '127.0.0.1', port, ca })
  const ready = transport === 'tls' ? 'secureConnect' : 'connect'
  await new Promise((resolve, reject) => socket.once('error', reject).once(ready, resolve))
  socket.setNoDelay?.(true)
  let done
  let left = 0
  let frame = frameOf('none')
  frames(socket, () => (--left === 0 ? done() : socket.write(frame)))
  const run = (count, op = 'none') =>
    new Promise((resolve) => {
      done = resolve
      left = count
      frame = frameOf(op)
      socket.write(frame)
    })
  client = { socket, run }
  await run(n)
  return {}
}

/**
 * One timed slice of `count` round trips, one in flight at a time; with `op` ('put' or 'get'),
 * a bare leader does that operation in each.
 */
export const pingPong = ({ count, op }) => timed(count, () => client.run(count, op))
