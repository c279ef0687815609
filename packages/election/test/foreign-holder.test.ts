import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { Election, type StalledInfo } from '../src/index.js'
import { portLock } from './fixtures/port-lock.mjs'
import { cleanup, freePort, readAll, spawn, tempDir, waitFor } from './helpers.js'

afterEach(cleanup)

describe('foreign lock holder', () => {
  test('a lock held by something that serves nothing is reported as stalled, then timeout; the election recovers when it goes', async () => {
    for (let i = 0; i < 3; i++) {
      const endpoint = join(tempDir(), 's')
      // Left at the endpoint on purpose: only the lock holder may remove it.
      writeFileSync(endpoint, 'not ours to remove')
      const port = await freePort()
      const holder = spawn('holder.mjs', [port])
      expect(await holder.next((message) => 'held' in message)).toEqual({ held: true })

      const election = new Election({
        endpoint,
        ...portLock(port),
        serve(socket) {
          socket.end('served')
        },
        stalledAfter: 100,
        timeout: 300
      })
      const seen: Array<[string, unknown]> = []
      election.on('stalled', (info) => seen.push(['stalled', info]))
      election.on('timeout', (err) => seen.push(['timeout', err]))
      election.on('leader', () => seen.push(['leader', undefined]))
      try {
        election.start()
        await waitFor(election, 'timeout', 5000)
        await waitFor(election, 'timeout', 5000)

        // Usually stalled first (100 ms after the lock was first found held), but on a loaded
        // machine finding the lock held can take longer than the 300 ms of the first timeout.
        expect(seen.map(([event]) => event).sort()).toEqual(['stalled', 'timeout', 'timeout'])
        const info = seen.find(([event]) => event === 'stalled')![1] as StalledInfo
        expect(info.endpoint).toBe(endpoint)
        expect(info.elapsed).toBeGreaterThanOrEqual(99)
        for (const [event, err] of seen) if (event === 'timeout') expect(err).toMatchObject({ code: 'LEVEL_LOCKED' })
        expect(['connecting', 'electing']).toContain(election.role)
        expect(existsSync(endpoint)).toBe(true)

        // Listen before the kill: the election retries the lock every 100 ms at most, and under
        // load it can take the freed lock and lead before this process hears of its child's exit.
        // Listening only after `kill()` resolved then waited for a 'leader' already emitted.
        const led = waitFor(election, 'leader', 5000)
        await holder.kill()
        await led
        expect(await readAll(endpoint)).toBe('served')
        // One stall episode, however many retries it took.
        expect(seen.filter(([event]) => event === 'stalled')).toHaveLength(1)
      } finally {
        await election.close()
      }
    }
  }, 30000)

  test('timeout: Infinity never times out, and stalled is still reported', async () => {
    const endpoint = join(tempDir(), 's')
    const port = await freePort()
    const holder = spawn('holder.mjs', [port])
    expect(await holder.next((message) => 'held' in message)).toEqual({ held: true })
    const election = new Election({
      endpoint,
      ...portLock(port),
      serve() {},
      stalledAfter: 50,
      timeout: Number.POSITIVE_INFINITY
    })
    let timeouts = 0
    election.on('timeout', () => timeouts++)
    try {
      election.start()
      await waitFor(election, 'stalled')
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(timeouts).toBe(0)
    } finally {
      await election.close()
    }
  })
})
