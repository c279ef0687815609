import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { Election } from '../src/index.js'
import { portLock } from './fixtures/port-lock.mjs'
import { cleanup, freePort, readAll, spawn, tempDir, waitFor } from './helpers.js'

afterEach(cleanup)

async function leadOver(endpoint: string): Promise<void> {
  const election = new Election({
    endpoint,
    ...portLock(await freePort()),
    serve(socket) {
      socket.end('served')
    }
  })
  try {
    election.start()
    await waitFor(election, 'leader')
    expect(election.role).toBe('leader')
    expect(statSync(endpoint).isSocket()).toBe(true)
    expect(await readAll(endpoint)).toBe('served')
  } finally {
    await election.close()
  }
  // The leader removes the socket file it created, and only that.
  expect(existsSync(endpoint)).toBe(false)
}

describe('stale endpoint', () => {
  test('a regular file at the endpoint is removed by the lock holder, which then serves', async () => {
    for (let i = 0; i < 5; i++) {
      const endpoint = join(tempDir(), 's')
      writeFileSync(endpoint, 'left over')
      await leadOver(endpoint)
    }
  })

  test('a dead socket at the endpoint is removed by the lock holder, which then serves', async () => {
    for (let i = 0; i < 5; i++) {
      const endpoint = join(tempDir(), 's')
      const dead = spawn('dead-socket.mjs', [endpoint])
      await dead.next((message) => message.listening)
      await dead.kill()
      expect(statSync(endpoint).isSocket()).toBe(true)
      await leadOver(endpoint)
    }
  }, 30000)
})
