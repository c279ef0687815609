// Workloads of the follower-cache section (sections/cached.mjs): one process's reads, with some
// writes, of its own keys, Zipf-distributed (a few hot keys, a long tail) or each key once, run
// from a shared start instant to a shared end on the monotonic clock. Subjects: ours (with or
// without the cache) and upstream as followers, and lmdb-js, where every process reads the
// memory-mapped file itself.
import { xorshift } from '@rave-level/test-utils'
import { now } from './workloads.mjs'

const ZIPF_S = 0.99
const cdfs = new Map()

/** The cumulative distribution of Zipf(`ZIPF_S`) over ranks 1..n. */
function zipfCdf(n) {
  let cdf = cdfs.get(n)
  if (cdf !== undefined) return cdf
  cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) sum += 1 / (i + 1) ** ZIPF_S
  let acc = 0
  for (let i = 0; i < n; i++) {
    acc += 1 / (i + 1) ** ZIPF_S / sum
    cdf[i] = acc
  }
  cdfs.set(n, cdf)
  return cdf
}

export const cacheKey = (prefix, i) => `${prefix}${String(i).padStart(5, '0')}`
const VALUE = 'v'.repeat(100)

/** Put the `n` keys of `prefix`, 100-byte values. */
export async function fill(db, { prefix, n }) {
  for (let i = 0; i < n; i += 500) {
    const ops = []
    for (let j = i; j < Math.min(n, i + 500); j++) ops.push({ type: 'put', key: cacheKey(prefix, j), value: VALUE })
    await db.batch(ops)
  }
  return {}
}

/** Read each of the `n` keys of `prefix` once (a follower's cache fills; every subject's page cache too). */
export async function warm(db, { prefix, n }) {
  for (let i = 0; i < n; i += 500) {
    const keys = []
    for (let j = i; j < Math.min(n, i + 500); j++) keys.push(cacheKey(prefix, j))
    if (typeof db.getMany === 'function') await db.getMany(keys)
    else for (const key of keys) db.get(key)
  }
  return {}
}

/**
 * Read keys of `prefix` (`zipf`: Zipf-distributed over `n`; else each key once, in order) one
 * at a time, with a put of the same kind of key instead at `writeRatio`, from `startAt` to
 * `endAt` (ns, monotonic); counted from `countFrom`. A cached read that resolves at once never
 * lets the event loop poll I/O, so every 64th operation waits for the next turn of the loop,
 * as a process with other work would.
 */
export async function mixed(db, { prefix, n, zipf, writeRatio, seed, startAt, countFrom, endAt }) {
  const start = BigInt(startAt)
  const from = BigInt(countFrom)
  const end = BigInt(endAt)
  const wait = Number(start - now()) / 1e6
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  // Seeded: the same sequence of keys for every subject.
  const random = xorshift(seed)
  const cdf = zipfCdf(n)
  const pick = () => {
    const x = random()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  let gets = 0
  let puts = 0
  let putNs = 0n
  let next = 0
  const cpu0 = process.cpuUsage()
  let cpuFrom
  for (let op = 0; ; op++) {
    const t = now()
    if (t >= end) break
    if (cpuFrom === undefined && t >= from) cpuFrom = process.cpuUsage()
    const i = zipf ? pick() : next++
    if (random() < writeRatio) {
      await db.put(cacheKey(prefix, i), `${VALUE}${op}`)
      if (t >= from) {
        puts++
        putNs += now() - t
      }
    } else {
      const got = db.get(cacheKey(prefix, i))
      if (got instanceof Promise) await got
      if (t >= from) gets++
    }
    if (op % 64 === 63) await new Promise((resolve) => setImmediate(resolve))
  }
  const cpu = process.cpuUsage(cpuFrom ?? cpu0)
  const stats = db[Symbol.for('rave-level.cache')]
  return {
    gets,
    puts,
    putMs: Number(putNs) / 1e6,
    cpuMs: (cpu.user + cpu.system) / 1000,
    hits: stats?.hits,
    misses: stats?.misses
  }
}
