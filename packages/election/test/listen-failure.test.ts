import { existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type net from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { Election } from '../src/index.js'
import { portLock } from './fixtures/port-lock.mjs'
import { cleanup, freePort, spawn, tempDir, waitFor } from './helpers.js'

afterEach(cleanup)

const cases = [
  // libuv reports a bind in a missing directory as EACCES on Linux (ENOENT elsewhere).
  {
    name: 'in a directory that does not exist',
    cause: ['ENOENT', 'EACCES'],
    make: (dir: string) => join(dir, 'missing', 's')
  },
  {
    name: 'that is a directory',
    cause: ['EISDIR', 'EPERM'],
    make: (dir: string) => {
      mkdirSync(join(dir, 'd'))
      return join(dir, 'd')
    }
  }
]

describe('listen failure', () => {
  for (const { name, cause, make } of cases) {
    test(`a leader that cannot listen on an endpoint ${name} releases the lock and reports an election fault (listen)`, async () => {
      for (let i = 0; i < 3; i++) {
        const dir = tempDir()
        const endpoint = make(dir)
        const port = await freePort()
        const lock = portLock(port)
        let released!: () => void
        const release = new Promise<void>((resolve) => {
          released = resolve
        })
        const election = new Election<net.Server>({
          endpoint,
          acquire: lock.acquire,
          async release(server) {
            await lock.release(server)
            released()
          },
          serve() {},
          // A long pause after the failure, so that the lock stays free for the proof below.
          backoff: { min: 60000, max: 60000 }
        })
        let leaders = 0
        election.on('leader', () => leaders++)
        try {
          election.start()
          const err = await waitFor(election, 'error')
          expect(err).toMatchObject({ code: 'LEVEL_ELECTION_FAULT', stage: 'listen' })
          expect(cause).toContain((err as { cause: { code: string } }).cause.code)
          await release
          expect(election.role).toBe('connecting')
          expect(election.resource).toBe(undefined)

          // Proof that the lock was given back: another process takes it.
          const other = spawn('holder.mjs', [port])
          expect(await other.next((message) => 'held' in message)).toEqual({ held: true })
          await other.kill()
        } finally {
          await election.close()
        }
        expect(leaders).toBe(0)
        if (cause.includes('EISDIR')) expect(statSync(endpoint).isDirectory()).toBe(true)
        else expect(existsSync(endpoint)).toBe(false)
      }
    }, 30000)
  }

  test('it keeps trying with backoff, and leads once the endpoint becomes usable', async () => {
    const dir = tempDir()
    const endpoint = join(dir, 'later', 's')
    const port = await freePort()
    const election = new Election({ endpoint, ...portLock(port), serve() {}, backoff: { min: 5, max: 20 } })
    const errors: unknown[] = []
    election.on('error', (err) => errors.push(err))
    try {
      election.start()
      await waitFor(election, 'error')
      await waitFor(election, 'error')
      mkdirSync(join(dir, 'later'))
      await waitFor(election, 'leader')
      expect(errors.length).toBeGreaterThanOrEqual(2)
      for (const err of errors) expect(err).toMatchObject({ code: 'LEVEL_ELECTION_FAULT', stage: 'listen' })
    } finally {
      await election.close()
    }
  })
})
