// A remote follower that finds its leader through a LeaseElection (issue 24): servers on one
// location publish their TLS address in etcd while they lead the database, the follower's URL
// comes from a LeaderObserver, and it writes through SIGKILLs of the leading server. A real
// etcd (election's fixture; this package's test script installs etcd where it is missing).
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { LeaderObserver } from '@rave-level/election/lease'
import { afterEach, describe, expect, it } from 'vitest'
import { EtcdProcess } from '../../election/test/fixtures/etcd-server.mjs'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, tempDir, until } from './helpers.js'
import { freePort, remoteOptions, TOKEN, tlsLeader, tlsListen } from './remote-helpers.js'

afterEach(cleanup)

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'elected-server.mjs')

/** A server process (test/fixtures/elected-server.mjs) and what it said. */
class Server {
  readonly child: ChildProcess
  readonly url: string
  readonly events: { event: string; [key: string]: unknown }[] = []

  constructor(config: { location: string; listen: object; etcd: string; name: string }, port: number) {
    this.url = `tls://127.0.0.1:${port}`
    this.child = fork(fixture, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (message: { event: string }) => this.events.push(message))
    defer(() => this.kill())
  }

  said(event: string): boolean {
    return this.events.some((e) => e.event === event)
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.kill('SIGKILL')
    await exited
  }
}

describe('a remote follower whose URL comes from a LeaseElection', () => {
  it('follows the published leader through SIGKILLs of the leading server, and keeps every acknowledged write', async () => {
    const etcd = new EtcdProcess({ clientPort: await freePort(), peerPort: await freePort(), dataDir: tempDir() })
    defer(() => etcd.stop('SIGKILL'))
    await etcd.start()
    const location = tempDir()
    const name = 'db'
    const start = async (): Promise<Server> => {
      const port = await freePort()
      return new Server({ location, listen: tlsListen(port), etcd: etcd.url, name }, port)
    }
    const servers = [await start()]
    // The first server leads and publishes before the second one starts, so it is the one killed first.
    await until(() => servers[0]?.said('published') === true, 30_000)
    servers.push(await start())
    await until(() => servers.every((s) => s.said('ready')), 30_000)

    const observer = new LeaderObserver({ etcd: { hosts: etcd.url }, name })
    defer(() => observer.close())
    const remote = RaveLevel.connect(
      async (signal) => (await observer.next(signal)).value,
      remoteOptions(undefined, { timeout: 30_000 }) as never
    )
    defer(() => remote.close())
    await remote.open()

    // Write in a loop, recording what was acknowledged, until told to stop.
    const acked: string[] = []
    let stop = false
    const writing = (async () => {
      for (let i = 0; !stop; i++) {
        const key = `k/${String(i).padStart(6, '0')}`
        await remote.put(key, String(i))
        acked.push(key)
      }
    })()

    const leaders: string[] = []
    for (let round = 0; round < 3; round++) {
      const leader = servers.find((s) => s.said('published'))
      if (leader === undefined) throw new Error('No server published its URL')
      await until(() => remote.location === leader.url, 30_000)
      leaders.push(leader.url)
      const before = acked.length
      await until(() => acked.length >= before + 20, 30_000)
      await leader.kill()
      servers.splice(servers.indexOf(leader), 1)
      servers.push(await start())
      // The survivor takes the database at once, and the election once the dead one's lease ran out.
      await until(() => servers.some((s) => s.said('published')), 30_000)
    }
    const last = servers.find((s) => s.said('published'))
    await until(() => remote.location === last?.url, 30_000)
    const before = acked.length
    await until(() => acked.length >= before + 20, 30_000)
    stop = true
    await writing
    expect(observer.leader?.value).toBe(last?.url)
    expect(new Set(leaders).size).toBe(3)
    await remote.close()
    for (const s of servers) await s.kill()

    const db = new RaveLevel(location)
    defer(() => db.close())
    const stored = new Map(await db.iterator({ gte: 'k/', lt: 'k/~' }).all())
    for (const key of acked) expect(stored.get(key), key).toBe(String(Number(key.slice(2))))
    expect(acked.length).toBeGreaterThan(80)
  }, 120_000)
})

describe('a URL source', () => {
  it('is asked again after each failed attempt, and may wait: the follower connects once it gives a leader', async () => {
    const port = await freePort()
    const leader = tlsLeader(port)
    await leader.open()
    const asked: number[] = []
    let give: (url: string) => void = () => {}
    const given = new Promise<string>((resolve) => {
      give = resolve
    })
    const remote = RaveLevel.connect(
      async () => {
        asked.push(Date.now())
        // A dead address first, then (as an observer would) wait until the leader is known.
        if (asked.length === 1) return `tls://127.0.0.1:${await freePort()}`
        return given
      },
      remoteOptions(undefined, { timeout: 30_000 }) as never
    )
    defer(() => remote.close())
    const written = remote.put('k', 'v')
    await until(() => asked.length >= 2, 30_000)
    expect(remote.location).toMatch(/^tls:\/\/127\.0\.0\.1:/)
    give(`tls://127.0.0.1:${port}`)
    await written
    expect(remote.location).toBe(`tls://127.0.0.1:${port}`)
    expect(await leader.get('k')).toBe('v')
  })

  it('gives only tls:// URLs: the token never travels in clear to a tcp:// URL it names, and open() says why', async () => {
    let connections = 0
    const server = net.createServer((socket) => {
      connections++
      socket.destroy()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    defer(() => new Promise((resolve) => server.close(resolve)))
    const { port } = server.address() as net.AddressInfo
    const remote = RaveLevel.connect(() => `tcp://127.0.0.1:${port}`, { token: TOKEN, timeout: 1000 })
    defer(() => remote.close())
    const err = await remote.open().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_CONNECTION_LOST' } })
    expect(String((err as { cause: Error }).cause.message)).toMatch(/only tls:\/\//)
    expect(connections).toBe(0)
  })

  it('is not waited for by close() while it waits for a leader', async () => {
    const port = await freePort()
    const leader = new RaveLevel(tempDir(), { listen: tlsListen(port) as never })
    await leader.open()
    let calls = 0
    // The leader's URL once; then, as an observer with no leader known, an answer that never comes.
    const remote = RaveLevel.connect(
      () => (++calls === 1 ? `tls://127.0.0.1:${port}` : new Promise<string>(() => {})),
      remoteOptions(undefined, { timeout: 30_000 }) as never
    )
    await remote.put('k', 'v')
    await leader.close()
    await until(() => calls >= 2, 30_000)
    // Resolves although the source never answers (a hang here is the failure; 30 s guard).
    await remote.close()
    expect(remote.status).toBe('closed')
  })
})
