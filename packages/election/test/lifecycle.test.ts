import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import type net from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { Election, type ElectionOptions } from '../src/index.js'
import { portLock } from './fixtures/port-lock.mjs'
import { cleanup, freePort, readAll, spawn, tempDir, waitFor } from './helpers.js'

afterEach(cleanup)

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

async function options(overrides: Partial<ElectionOptions<net.Server>> = {}): Promise<ElectionOptions<net.Server>> {
  return { endpoint: join(tempDir(), 's'), ...portLock(await freePort()), serve() {}, ...overrides }
}

describe('lifecycle', () => {
  test('close() is idempotent, emits close once, and a closed election does not start again', async () => {
    const election = new Election(await options())
    let closes = 0
    election.on('close', () => closes++)
    election.start()
    await waitFor(election, 'leader')
    const first = election.close()
    expect(election.role).toBe('closing')
    expect(election.resource).toBe(undefined)
    expect(election.close()).toBe(first)
    await first
    await election.close()
    expect(election.role).toBe('closed')
    expect(closes).toBe(1)
    election.start()
    expect(election.role).toBe('closed')
  })

  test('close() of an election that never started', async () => {
    const election = new Election(await options())
    await election.close()
    expect(election.role).toBe('closed')
  })

  test('close() during a pending acquire releases the resource that arrives late, before resolving', async () => {
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const lock = portLock(port)
      let aborted = false
      let released = false
      const acquiring = deferred()
      const closing = deferred()
      const election = new Election<net.Server>({
        endpoint: join(tempDir(), 's'),
        // Deliberately ignores the signal and takes the lock once close() was called: the worst case.
        async acquire(signal) {
          signal.addEventListener('abort', () => {
            aborted = true
          })
          acquiring.resolve()
          await closing.promise
          return lock.acquire()
        },
        async release(server) {
          await lock.release(server)
          released = true
        },
        serve() {}
      })
      let leaders = 0
      election.on('leader', () => leaders++)
      election.start()
      await acquiring.promise
      expect(election.role).toBe('electing')
      const closed = election.close()
      closing.resolve()
      await closed
      expect(aborted).toBe(true)
      expect(released).toBe(true)
      expect(leaders).toBe(0)
      const other = spawn('holder.mjs', [port])
      expect(await other.next((message) => 'held' in message)).toEqual({ held: true })
    }
  })

  test('a leader that closes disconnects its followers; they take over', async () => {
    const base = await options({
      serve(socket) {
        socket.write('hello')
      }
    })
    const a = new Election(base)
    const b = new Election(base)
    try {
      a.start()
      await waitFor(a, 'leader')
      b.start()
      const socket = await waitFor<net.Socket>(b, 'follower')
      expect(b.role).toBe('follower')
      expect(b.resource).toBe(undefined)
      const [greeting] = await once(socket, 'data')
      expect(String(greeting)).toBe('hello')

      const disconnected = waitFor(a, 'disconnected')
      const takeover = waitFor(b, 'leader')
      await a.close()
      await disconnected
      await takeover
      expect(b.role).toBe('leader')
      expect(b.resource).toBeDefined()
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  test('an endpoint resolver: the leader publishes where it listens, followers read it', async () => {
    const dir = tempDir()
    const published = join(dir, 'endpoint')
    const calls: string[] = []
    const resolver = (name: string) => ({
      async connect() {
        calls.push(`${name} connect`)
        return await readFile(published, 'utf8')
      },
      listen() {
        calls.push(`${name} listen`)
        return join(dir, name)
      },
      async published(endpoint: string) {
        calls.push(`${name} published`)
        await writeFile(published, endpoint)
      }
    })
    const lock = portLock(await freePort())
    const serve = (socket: net.Socket): void => {
      socket.end('ok')
    }
    const a = new Election({ endpoint: resolver('a'), ...lock, serve })
    const b = new Election({ endpoint: resolver('b'), ...lock, serve, follow() {} })
    try {
      a.start()
      await waitFor(a, 'leader')
      expect(await readFile(published, 'utf8')).toBe(join(dir, 'a'))
      expect(calls).toEqual(['a connect', 'a listen', 'a published'])
      expect(await readAll(join(dir, 'a'))).toBe('ok')
      b.start()
      await waitFor(b, 'follower')
      expect(calls.slice(3)).toEqual(['b connect'])
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  test('acquire() rejecting is reported as an election fault (acquire) and retried', async () => {
    const base = await options()
    let attempts = 0
    const election = new Election({
      ...base,
      async acquire(signal) {
        if (++attempts < 3) throw new Error('disk on fire')
        return base.acquire(signal)
      }
    })
    const errors: unknown[] = []
    election.on('error', (err) => errors.push(err))
    try {
      election.start()
      await waitFor(election, 'leader')
      expect(errors).toHaveLength(2)
      expect(errors[0]).toMatchObject({
        code: 'LEVEL_ELECTION_FAULT',
        stage: 'acquire',
        cause: { message: 'disk on fire' }
      })
    } finally {
      await election.close()
    }
  })

  test('close() rejects with an election fault (release) when release() fails', async () => {
    const base = await options()
    const election = new Election<net.Server>({
      ...base,
      async release(server) {
        await base.release(server)
        throw new Error('nope')
      }
    })
    election.start()
    await waitFor(election, 'leader')
    await expect(election.close()).rejects.toMatchObject({
      code: 'LEVEL_ELECTION_FAULT',
      stage: 'release',
      cause: { message: 'nope' }
    })
    expect(election.role).toBe('closed')
  })

  test('serve() that throws costs that one connection (an election fault (serve)); the leader carries on', async () => {
    let calls = 0
    const base = await options({
      serve(socket) {
        if (++calls === 1) throw new Error('bad handler')
        socket.end('fine')
      }
    })
    const election = new Election(base)
    const errors: unknown[] = []
    election.on('error', (err) => errors.push(err))
    try {
      election.start()
      await waitFor(election, 'leader')
      const endpoint = base.endpoint as string
      expect(await readAll(endpoint)).toBe('')
      expect(await readAll(endpoint)).toBe('fine')
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatchObject({
        code: 'LEVEL_ELECTION_FAULT',
        stage: 'serve',
        cause: { message: 'bad handler' }
      })
      expect(election.role).toBe('leader')
    } finally {
      await election.close()
    }
  })

  test('follow() that throws is reported as an election fault (follow) and the election runs again', async () => {
    const base = await options()
    const leader = new Election(base)
    let calls = 0
    const follower = new Election({
      ...base,
      follow() {
        if (++calls === 1) throw new Error('bad follower')
      }
    })
    const errors: unknown[] = []
    follower.on('error', (err) => errors.push(err))
    try {
      leader.start()
      await waitFor(leader, 'leader')
      follower.start()
      await waitFor(follower, 'disconnected')
      await waitFor(follower, 'follower')
      expect(calls).toBe(2)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatchObject({
        code: 'LEVEL_ELECTION_FAULT',
        stage: 'follow',
        cause: { message: 'bad follower' }
      })
    } finally {
      await Promise.all([leader.close(), follower.close()])
    }
  })

  test('a leader that drops every connection does not put its followers in a busy loop', async () => {
    const connections: number[] = []
    const fifteen = deferred()
    const base = await options({
      serve(socket) {
        if (connections.push(performance.now()) === 15) fifteen.resolve()
        socket.destroy()
      },
      backoff: { min: 10, max: 50 }
    })
    const leader = new Election(base)
    const follower = new Election(base)
    try {
      leader.start()
      await waitFor(leader, 'leader')
      follower.start()
      await fifteen.promise
      // Each cycle waits out a backoff delay (never less than half its step, which doubles from
      // `min` to `max`), as a short connection does not reset it: from the fifth connection on,
      // at least 25 ms apart. A busy loop would make these ten cycles in a few ms. A lower bound
      // on elapsed time, which a slow machine only makes larger; half of it, for timers that
      // fire against the event loop's cached clock.
      expect((connections[14] as number) - (connections[4] as number)).toBeGreaterThan((10 * 25) / 2)
    } finally {
      await Promise.all([leader.close(), follower.close()])
    }
  })

  test('faults without listeners are not thrown: no error listener, no crash', async () => {
    let releases = 0
    const threeReleases = deferred()
    const base = await options({ backoff: { min: 1, max: 5 } })
    const election = new Election<net.Server>({
      ...base,
      endpoint: join(tempDir(), 'missing', 's'),
      async release(server) {
        await base.release(server)
        if (++releases === 3) threeReleases.resolve()
      }
    })
    election.start()
    await threeReleases.promise
    await election.close()
    expect(election.role).toBe('closed')
  })
})

describe('event loop', () => {
  test('a leader with nothing else to do lets its process exit', async () => {
    for (let i = 0; i < 3; i++) {
      const child = spawn('exit.mjs', [join(tempDir(), 's'), await freePort()])
      const exited = once(child.process, 'exit')
      expect(await child.next((message) => 'role' in message)).toEqual({ role: 'leader' })
      expect(await exited).toEqual([0, null])
    }
  })

  test('a follower with nothing else to do lets its process exit', async () => {
    for (let i = 0; i < 3; i++) {
      const endpoint = join(tempDir(), 's')
      const port = await freePort()
      const leader = new Election({ endpoint, ...portLock(port), serve() {} })
      try {
        leader.start()
        await waitFor(leader, 'leader')
        const child = spawn('exit.mjs', [endpoint, port])
        const exited = once(child.process, 'exit')
        expect(await child.next((message) => 'role' in message)).toEqual({ role: 'follower' })
        expect(await exited).toEqual([0, null])
      } finally {
        await leader.close()
      }
    }
  })
})

describe('ref()', () => {
  test("an unref'd election waiting for a leader lets its process exit; a ref'd one keeps it alive", async () => {
    const port = await freePort()
    const holder = spawn('holder.mjs', [port])
    expect(await holder.next((message) => 'held' in message)).toEqual({ held: true })

    const unrefd = spawn('wait.mjs', [join(tempDir(), 's'), port, 'unref'])
    expect(await once(unrefd.process, 'exit')).toEqual([0, null])

    // Its 'stalled' timer is unref'd, so it fires only in a process kept alive by the election;
    // and it keeps waiting until the lock is free, then leads.
    const refd = spawn('wait.mjs', [join(tempDir(), 's'), port, 'ref'])
    expect(await refd.next((message) => message.stalled)).toEqual({ stalled: true })
    await holder.kill()
    expect(await refd.next((message) => message.leader)).toEqual({ leader: true })
  })

  test('ref() and unref() return the election and can be called in any state', async () => {
    const election = new Election(await options())
    expect(election.ref()).toBe(election)
    election.start()
    expect(election.unref()).toBe(election)
    election.ref()
    await waitFor(election, 'leader')
    election.unref()
    await election.close()
    expect(election.ref()).toBe(election)
  })
})
