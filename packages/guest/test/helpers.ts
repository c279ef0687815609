import { createConnection, type Socket } from 'node:net'
import { Duplex, pipeline } from 'node:stream'
import { LevelHost } from '@rave-level/host'
import { tempDir as sharedTempDir } from '@rave-level/test-utils'
import { MemoryLevel } from 'memory-level'
import { type GuestRpcStreamOptions, ResumableGuest, type ResumableGuestOptions } from '../dist/index.js'

export { ManyLevelHost, MemoryLevel1, serve } from '@rave-level/test-utils'

export const noop = () => {}

/** Anything with `createRpcStream()`: LevelHost or many-level's ManyLevelHost. */
export interface AnyHost {
  createRpcStream(): Duplex
}

/** A short temp dir (macOS caps socket paths at 104 bytes). */
export function tempDir(): { path: string; remove: () => void } {
  return sharedTempDir('g-')
}

/** A LevelHost over a fresh memory-level 3 database. */
export function memoryHost(): { db: MemoryLevel<string, string>; host: LevelHost } {
  const db = new MemoryLevel<string, string>()
  return { db, host: new LevelHost(db) }
}

/** A guest connected in-process to `host`. `link.cut()` destroys that connection. */
export function connect(guest: ResumableGuest<any, any>, host: AnyHost): { cut(): void } {
  const g = guest.createRpcStream()
  const h = host.createRpcStream()
  pipeline(g, h, g, noop)
  return { cut: () => g.destroy() }
}

/**
 * Connect `guest` to a host that takes every request and never answers (a hung or dead
 * leader). `cut()` ends the connection.
 */
export function silentHost(guest: ResumableGuest<any, any>, options?: GuestRpcStreamOptions): { cut(): void } {
  const g = guest.createRpcStream(options)
  const sink = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() })
  pipeline(g, sink, g, noop)
  return { cut: () => g.destroy() }
}

/** A new guest connected in-process to `host`. */
export function connectedGuest<K = string, V = string>(
  host: AnyHost,
  options?: ResumableGuestOptions<K, V>
): ResumableGuest<K, V> {
  const guest = new ResumableGuest<K, V>(options)
  connect(guest, host)
  return guest
}

/** Connect `guest` to a unix socket, passing the socket as `ref` as the facade does. */
export function connectSocket(guest: ResumableGuest<any, any>, path: string): Socket {
  const socket = createConnection(path)
  const g = guest.createRpcStream({ ref: socket })
  pipeline(socket, g, socket, noop)
  return socket
}

/** A seeded PRNG (mulberry32): `random()` in [0, 1), `int(n)` in [0, n), `pick(array)`. */
export function prng(seed: number) {
  let a = seed >>> 0
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  return { random, int, pick }
}

/** Wait until `predicate` holds, polling. */
export async function until(predicate: () => boolean, timeout = 5000): Promise<void> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeout) throw new Error('Timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
