import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createConnection, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { type Duplex, pipeline } from 'node:stream'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import type { LevelHost } from '../dist/index.js'

const require = createRequire(import.meta.url)

/** many-level 2.0.0, the reference implementation (an abstract-level 1 guest and host). */
export const { ManyLevelGuest, ManyLevelHost } = require('many-level') as {
  ManyLevelGuest: new (options?: object) => any
  ManyLevelHost: new (db: unknown, options?: object) => { createRpcStream(): Duplex }
}
/** memory-level 1 (abstract-level 1), for many-level 2's own host. */
export const { MemoryLevel: MemoryLevel1 } = require('memory-level-1') as { MemoryLevel: new (options?: object) => any }

const noop = () => {}

/** A short temp dir (macOS caps socket paths at 104 bytes). */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync('/tmp/h-')
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
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

/** Serve `host` on a unix socket in a short temp dir. */
export async function serve(host: LevelHost): Promise<{ path: string; server: Server; close(): Promise<void> }> {
  const dir = tempDir()
  const path = join(dir.path, 's')
  const server = createServer((socket) => {
    pipeline(socket, host.createRpcStream(), socket, noop)
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return {
    path,
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      dir.remove()
    }
  }
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
