import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readlinkSync } from 'node:fs'
import type net from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { Election, type OpenEndpoint } from '../src/index.js'
import { portLock } from './fixtures/port-lock.mjs'
import { cleanup, freePort, tempDir, waitFor } from './helpers.js'

afterEach(cleanup)

/** How many file descriptors of `dir` this process has open. */
function descriptorsOf(dir: string): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === dir) count++
    } catch {
      // Closed since the listing.
    }
  }
  return count
}

/**
 * A socket in `dir` with a path longer than any unix socket path, reached as
 * `@rave-level/socket-path`'s `openEndpoint()` reaches it on Linux: through
 * `/proc/self/fd/<fd of dir>/`. Records every close, to check each endpoint is closed once.
 */
function throughDescriptor(dir: string, closes: number[]): OpenEndpoint {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  const index = closes.push(0) - 1
  return {
    path: `/proc/self/fd/${fd}/s.sock`,
    name: join(dir, 's.sock'),
    close() {
      closes[index] = (closes[index] ?? 0) + 1
      // Once only: a second close could close a descriptor that reuses the number.
      if (closes[index] === 1) closeSync(fd)
    }
  }
}

describe.skipIf(process.platform !== 'linux')('open endpoints', () => {
  test("each is closed exactly once, a follower's once connected and a leader's once its socket is gone", async () => {
    const dir = join(tempDir(), 'd'.repeat(60), 'e'.repeat(60))
    mkdirSync(dir, { recursive: true })
    const closes: number[] = []
    const endpoint = {
      connect: () => throughDescriptor(dir, closes),
      listen: () => throughDescriptor(dir, closes)
    }
    const lock = portLock(await freePort())
    const serve = (socket: net.Socket): void => {
      socket.write('hello')
    }
    const elections = [0, 1, 2].map(() => new Election({ endpoint, ...lock, serve, follow() {} }))
    const [a, b, c] = elections as [Election<unknown>, Election<unknown>, Election<unknown>]
    try {
      a.start()
      await waitFor(a, 'leader')
      expect(existsSync(join(dir, 's.sock'))).toBe(true) // bound inside the directory
      expect(descriptorsOf(dir)).toBe(1) // the leader's

      b.start()
      c.start()
      await Promise.all([waitFor(b, 'follower'), waitFor(c, 'follower')])
      expect(descriptorsOf(dir)).toBe(1) // the followers' are closed once connected

      // Failover: one of the followers leads, the other follows it.
      const next = Promise.race([waitFor(b, 'leader'), waitFor(c, 'leader')])
      await a.close()
      await next
      await until(() => b.role === 'follower' || c.role === 'follower')
      expect(descriptorsOf(dir)).toBe(1)
      expect(existsSync(join(dir, 's.sock'))).toBe(true)
    } finally {
      await Promise.all(elections.map((election) => election.close()))
    }
    expect(existsSync(join(dir, 's.sock'))).toBe(false) // removed through the descriptor
    expect(descriptorsOf(dir)).toBe(0)
    expect(closes.length).toBeGreaterThanOrEqual(4) // two leaderships, at least two connects
    expect(closes.filter((count) => count !== 1)).toEqual([])
  })
})

async function until(condition: () => boolean, timeout = 10000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeout) throw new Error('Timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
