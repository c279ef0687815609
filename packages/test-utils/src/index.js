// Helpers shared by the tests and benchmarks of several packages. Plain JavaScript, so that
// benchmark scripts run it directly and vitest imports it without a build.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream'

const require = createRequire(import.meta.url)

/** many-level 2.0.0, the reference implementation (an abstract-level 1 guest and host). */
export const { ManyLevelGuest, ManyLevelHost } = require('many-level')
/** memory-level 1 (abstract-level 1), the kind of database many-level 2's host can serve. */
export const { MemoryLevel: MemoryLevel1 } = require('memory-level-1')

const noop = () => {}

/** `value` as an unsigned LEB128 varint (a frame's length prefix), for tests that forge frames. */
export function varint(value) {
  const bytes = []
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80)
    value = Math.floor(value / 0x80)
  }
  bytes.push(value)
  return Buffer.from(bytes)
}

/** A short temp dir under /tmp (unix socket paths are capped at 107 bytes, 103 on macOS). */
export function tempDir(prefix = 'rl-') {
  const path = mkdtempSync(join('/tmp', prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** A seeded xorshift32: a function returning numbers in [0, 1), the same sequence for the same seed. */
export function xorshift(seed) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 0x100000000
  }
}

/** Serve `host` (anything with `createRpcStream()`) on a unix socket in a short temp dir. */
export async function serve(host, prefix = 's-') {
  const dir = tempDir(prefix)
  const path = join(dir.path, 's')
  const sockets = new Set()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    pipeline(socket, host.createRpcStream(), socket, noop)
  })
  await new Promise((resolve) => server.listen(path, resolve))
  return {
    path,
    server,
    /** Stop listening, drop every connection, remove the temp dir. */
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(() => resolve()))
      dir.remove()
    }
  }
}

/**
 * The iterator scenario set of the interop tests. Variable-length keys are where byte-wise order
 * differs from "shorter first", and where resume logic goes wrong.
 */
export const scenario = Object.freeze({
  KEYS: ['a', 'aa', 'aab', 'ab', 'b', 'ba', 'bb', 'c', 'ca', 'd'],
  RANGES: [
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
  ],
  LIMITS: [-1, 0, 1, 2, 5],
  SEEKS: [undefined, 'ab', 'b', '0', 'zz'],
  MODES: ['iterator', 'keys', 'values']
})

/**
 * Every combination of mode × reverse × limit × range × seek (a smaller subset unless `full`).
 */
export function* iteratorCases(full) {
  const { LIMITS, RANGES, SEEKS, MODES } = scenario
  for (const mode of MODES) {
    for (const reverse of [false, true]) {
      for (const limit of full ? LIMITS : [-1, 2]) {
        for (const range of full ? RANGES : RANGES.slice(0, 6)) {
          for (const seek of full ? SEEKS : SEEKS.slice(0, 3)) {
            yield { mode, options: { ...range, reverse, limit }, seek }
          }
        }
      }
    }
  }
}

/** Run `op(i)` for i in [0, n) with `window` operations in flight at a time. */
export async function pipelined(n, window, op) {
  let next = 0
  const worker = async () => {
    while (next < n) await op(next++)
  }
  await Promise.all(Array.from({ length: window }, worker))
}

/** The CRUD writes of the interop tests, applied to `db` (a guest, or its twin used directly). */
export async function writeCrudSequence(db) {
  await db.put('k1', 'v1')
  await db.put('k2', 'v2')
  await db.put('k3', 'v3')
  await db.del('k2')
  await db.batch([
    { type: 'put', key: 'k4', value: 'v4' },
    { type: 'del', key: 'k1' },
    { type: 'put', key: 'k5', value: '' },
    { type: 'put', key: 'k6', value: 'v6' },
    { type: 'put', key: 'k7', value: 'v7' }
  ])
}

/** Ranges the interop tests clear, one after the other, until the database is empty. */
export const clearRanges = Object.freeze([
  { gt: 'k3', lt: 'k6' },
  { gte: 'k6', limit: 1 },
  { reverse: true, limit: 1 },
  {}
])
