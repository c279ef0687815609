import { createConnection } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream'
import { ManyLevelGuest, tempDir as sharedTempDir } from '@rave-level/test-utils'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import type { LevelHost } from '../dist/index.js'

export { ManyLevelGuest, ManyLevelHost, MemoryLevel1, serve } from '@rave-level/test-utils'

const noop = () => {}

/** A short temp dir (macOS caps socket paths at 104 bytes). */
export function tempDir(): { path: string; remove: () => void } {
  return sharedTempDir('h-')
}

export interface Flavour {
  name: string
  create(): Promise<{ db: any; dispose(): Promise<void> }>
}

/** The databases every interop test runs against: classic-level 3 in a temp dir and memory-level 3. */
export const flavours: Flavour[] = [
  {
    name: 'classic-level',
    async create() {
      const dir = tempDir()
      const db = new ClassicLevel(join(dir.path, 'db'))
      await db.open()
      return {
        db,
        async dispose() {
          await db.close()
          dir.remove()
        }
      }
    }
  },
  {
    name: 'memory-level',
    async create() {
      const db = new MemoryLevel()
      await db.open()
      return { db, dispose: () => db.close() }
    }
  }
]

/** Connect a many-level 2 guest to `host`, in-process. */
export function inProcessGuest(host: LevelHost): any {
  const guest = new ManyLevelGuest()
  const g = guest.createRpcStream()
  const h = host.createRpcStream()
  pipeline(g, h, g, noop)
  return guest
}

/** Connect a many-level 2 guest to a unix socket. */
export function socketGuest(path: string): any {
  const guest = new ManyLevelGuest()
  const socket = createConnection(path)
  const g = guest.createRpcStream()
  pipeline(socket, g, socket, noop)
  return guest
}

/** Wait until `predicate` holds, polling. */
export async function until(predicate: () => boolean, timeout = 5000): Promise<void> {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeout) throw new Error('Timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * Resolve with `read()` once it returned the same value on `polls` consecutive polls, `interval`
 * ms apart. For claims that something stops ("the host reads no more", "sends no more"), which
 * no event can mark: use it only on a count kept by the side that would move, and assert on that
 * count afterwards. The host under test runs in this process, so every poll is a turn of the
 * event loop in which it could have read or written; it is not a timing figure.
 */
export async function steady(read: () => number, polls = 10, interval = 20, timeout = 20_000): Promise<number> {
  const start = Date.now()
  let value = read()
  for (let same = 0; same < polls; ) {
    if (Date.now() - start > timeout) throw new Error(`Still changing after ${timeout} ms (now ${value})`)
    await new Promise((resolve) => setTimeout(resolve, interval))
    const next = read()
    same = next === value ? same + 1 : 0
    value = next
  }
  return value
}
