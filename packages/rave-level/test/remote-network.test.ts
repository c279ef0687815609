// Remote followers in their own processes, over TLS on loopback: SIGKILLed leaders, a network
// path that goes silent, and hostile input before and after authentication.
import net from 'node:net'
import tls from 'node:tls'
import { decodeOutput, encodeInput, FrameDecoder, Input } from '@rave-level/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, tempDir, until } from './helpers.js'
import { certificates, freePort, listening, remoteOptions, SilentProxy, TOKEN, tlsListen } from './remote-helpers.js'

afterEach(cleanup)

const pad = (i: number) => String(i).padStart(6, '0')

describe('a remote follower through SIGKILLs of the leader', () => {
  it('keeps every acknowledged write and each writer’s order; iterators resume exactly; a watch sees every change or a gap', async () => {
    const location = tempDir()
    const port = await freePort()
    const url = `tls://127.0.0.1:${port}`
    const listen = tlsListen(port)
    const alive = new Set<Peer>()
    const spawnLocal = async () => {
      const peer = new Peer(location, { listen })
      alive.add(peer)
      await peer.ready
      return peer
    }
    const first = await spawnLocal()
    await first.event('leader')
    for (let i = 0; i < 2; i++) await spawnLocal()
    // Entries to iterate over, written before any kill.
    const items: [string, string][] = []
    for (let i = 0; i < 6000; i++) items.push([`it/${pad(i)}`, `value-${i}`.padEnd(60, '.')])
    for (let i = 0; i < items.length; i += 1000)
      await first.call(
        'batch',
        items.slice(i, i + 1000).map(([key, value]) => ({ type: 'put', key, value }))
      )

    const remote = (options: object = {}) => new Peer(url, remoteOptions(TOKEN, options))
    const writers = [remote(), remote()]
    const watcher = remote()
    const reader = remote()
    for (const p of [...writers, watcher, reader]) await p.ready
    await watcher.call('watch', 'w', { lt: 'it/' })
    await watcher.call('watchReady', 'w')
    for (const w of writers) await w.call('writeLoop')
    const forward = reader.call('slowEntries', { gte: 'it/', lt: 'it/~' }, 200, 40)
    const backward = reader.call('slowEntries', { gte: 'it/', lt: 'it/~', reverse: true, limit: 4500 }, 150, 40)

    const acks = () => writers.reduce((n, p) => n + p.events.filter((e) => e.event === 'ack').length, 0)
    let kills = 0
    for (let round = 0; round < 8; round++) {
      // A few hundred ms, and progress of the writers on the current leader.
      const before = acks()
      await new Promise((resolve) => setTimeout(resolve, 250))
      await until(() => acks() >= before + 10, 20_000)
      const leader = await Promise.race([...alive].map((p) => p.event('leader').then(() => p)))
      await leader.kill()
      alive.delete(leader)
      kills++
      await spawnLocal()
    }
    const before = acks()
    await until(() => acks() >= before + 20, 20_000)
    const [forwardEntries, backwardEntries] = await Promise.all([forward, backward])
    expect(forwardEntries).toEqual(items)
    expect(backwardEntries).toEqual(items.slice().reverse().slice(0, 4500))
    for (const w of writers) await w.kill()
    // Changes of the last writes reach the watcher.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const changes: { type: string; key?: string; value?: string }[] = await watcher.call('changes', 'w')
    for (const p of [watcher, reader, ...alive]) await p.kill()

    const db = new RaveLevel(location)
    defer(() => db.close())
    let acked = 0
    for (const p of writers) {
      expect(p.events.filter((e) => e.event === 'loop-error')).toEqual([])
      const list = p.events.filter((e) => e.event === 'ack')
      for (const a of list) expect(await db.get(a.key)).toBe(String(a.i))
      const last = Number(await db.get(`last/${p.pid}`))
      expect(last).toBeGreaterThanOrEqual(list[list.length - 1].i)
      const keys = await db.keys({ gte: `${p.pid}/`, lt: `${p.pid}/~` }).all()
      expect(keys.slice(0, last + 1)).toEqual(Array.from({ length: last + 1 }, (_, i) => `${p.pid}/${pad(i)}`))
      acked += list.length
      // The watch: this writer's keys in order, each change after the one before it, unless a
      // gap came between (a failover: changes may be missing, or a retried write seen again).
      let previous = -1
      let gap = false
      let seen = 0
      for (const c of changes) {
        if (c.type === 'gap') {
          gap = true
          continue
        }
        if (!c.key?.startsWith(`${p.pid}/`)) continue
        const i = Number(c.key.slice(c.key.indexOf('/') + 1))
        if (!gap) expect(i, `change ${c.key} after ${previous} without a gap`).toBe(previous + 1)
        previous = i
        gap = false
        seen++
      }
      expect(seen).toBeGreaterThan(0)
    }
    expect(kills).toBe(8)
    expect(acked).toBeGreaterThan(100)
    expect(changes.filter((c) => c.type === 'gap').length).toBeGreaterThan(0)
  }, 120_000)
})

describe('a network path that goes silent without closing', () => {
  it('settles operations with LEVEL_TIMEOUT within timeout, reconnects when the path is back, and runs nothing acknowledged twice', async () => {
    const location = tempDir()
    const port = await freePort()
    const leader = new Peer(location, { listen: tlsListen(port) })
    await leader.event('leader')
    await leader.call('watch', 'all')
    await leader.call('watchReady', 'all')
    const proxy = new SilentProxy(port)
    const proxied = await proxy.listen()
    defer(() => proxy.close())
    const timeout = 3000
    const remote = new Peer(`tls://127.0.0.1:${proxied}`, remoteOptions(TOKEN, { timeout, stalledAfter: 300 }))
    await remote.ready
    for (let i = 0; i < 20; i++) await remote.call('put', `before/${pad(i)}`, String(i))

    proxy.paused = true
    const started = Date.now()
    const results = await Promise.allSettled([
      remote.call('put', 'during/put', '1'),
      remote.call('get', 'before/000001'),
      remote.call('batch', [{ type: 'put', key: 'during/batch', value: '1' }])
    ])
    const elapsed = Date.now() - started
    expect(results.map((r) => (r.status === 'rejected' ? r.reason.code : r.value))).toEqual([
      'LEVEL_TIMEOUT',
      'LEVEL_TIMEOUT',
      'LEVEL_TIMEOUT'
    ])
    // Within timeout: the watchdog ticks at most 100 ms apart; the rest is IPC and slack.
    expect(elapsed).toBeLessThan(timeout + 1000)
    expect(remote.events.filter((e) => e.event === 'stalled').length).toBeGreaterThan(0)

    // An operation issued while the path is down waits for the next connection.
    const waiting = remote.call('put', 'after/waited', '1')
    await new Promise((resolve) => setTimeout(resolve, timeout / 2))
    proxy.paused = false
    await waiting
    for (let i = 0; i < 20; i++) await remote.call('put', `after/${pad(i)}`, String(i))
    expect(await remote.call('get', 'before/000019')).toBe('19')

    // The leader's own watch saw every acknowledged write exactly once.
    await until(async () => (await leader.call('watchState', 'all')).count >= 41)
    const seen: { key: string }[] = await leader.call('changes', 'all')
    const count = new Map<string, number>()
    for (const c of seen) count.set(c.key, (count.get(c.key) ?? 0) + 1)
    for (let i = 0; i < 20; i++) {
      expect(count.get(`before/${pad(i)}`)).toBe(1)
      expect(count.get(`after/${pad(i)}`)).toBe(1)
    }
    expect(count.get('after/waited')).toBe(1)
    // What timed out never reached the leader here (the path was down); it was not sent again.
    expect(count.get('during/put')).toBeUndefined()
    expect(count.get('during/batch')).toBeUndefined()
  }, 60_000)
})

/** A raw TLS client that sends `bytes` after the handshake; resolves with what it got back and how it ended. */
function rawTls(port: number, bytes: Buffer | null): Promise<{ answer: any[]; ended: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certificates().ca })
    const answer: any[] = []
    const decoder = new FrameDecoder((frame) => answer.push(decodeOutput(Buffer.from(frame)).message))
    let ended = 'closed'
    socket.on('secureConnect', () => {
      if (bytes !== null) socket.write(bytes)
    })
    socket.on('data', (chunk) => decoder.push(chunk))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ended = err.code ?? err.message
    })
    socket.on('close', () => resolve({ answer, ended }))
  })
}

/** A plain TCP client on the TLS port. */
function rawTcp(port: number, bytes: Buffer): Promise<{ received: number; ended: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let received = 0
    let ended = 'closed'
    socket.on('connect', () => socket.write(bytes))
    socket.on('data', (chunk) => {
      received += chunk.length
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ended = err.code ?? err.message
    })
    socket.on('close', () => resolve({ received, ended }))
  })
}

describe('bad input before and after authentication', () => {
  it('refuses each with a code or drops it, holds 1,000 unauthenticated connections in bounded memory, and keeps serving others', async () => {
    const location = tempDir()
    const port = await freePort()
    // A long deadline, so that the 1,000 connections stay while we measure.
    const leader = new Peer(
      location,
      { listen: tlsListen(port, { authTimeout: 60_000 }) },
      { NODE_OPTIONS: '--expose-gc' }
    )
    await leader.event('leader')
    await listening(port)
    const follower = new Peer(`tls://127.0.0.1:${port}`, remoteOptions())
    await follower.ready
    await follower.call('put', 'k', 'v')

    const got: Record<string, unknown> = {}
    const auth = (token?: string) => encodeInput(Input.auth, { token })
    const wrong = await rawTls(port, auth('wrong-token-0123456789abcdef'))
    got['wrong token'] = wrong.answer
    expect(wrong.answer).toEqual([{ error: 'LEVEL_AUTH_FAILED', message: 'Invalid token' }])
    const none = await rawTls(port, auth())
    got['no token'] = none.answer
    expect(none.answer).toEqual([{ error: 'LEVEL_AUTH_FAILED', message: 'No credentials' }])
    const before = await rawTls(port, encodeInput(Input.get, { id: 1, key: Buffer.from('k') }))
    got['a request before Auth'] = before.answer
    expect(before.answer).toEqual([{ error: 'LEVEL_AUTH_FAILED', message: 'Authenticate first (an Auth frame)' }])
    // Garbage is refused with whatever code its first bytes earn: an HTTP request starts with a
    // "length" of 71 ('G') and a tag 69 ('E'), a complete frame that is not an Auth.
    const refused = /^LEVEL_(PROTOCOL_ERROR|FRAME_TOO_LARGE|AUTH_FAILED)$/
    const http = await rawTls(
      port,
      Buffer.from(`GET / HTTP/1.1\r\nHost: db.example\r\n${'X-Pad: x\r\n'.repeat(10)}\r\n`)
    )
    got['an HTTP request over TLS'] = http.answer
    expect(http.answer).toMatchObject([{ error: expect.stringMatching(refused) }])
    const big = await rawTls(port, Buffer.alloc(64 * 1024, 0xff))
    got['64 KiB of 0xff over TLS'] = big.answer
    expect(big.answer).toMatchObject([{ error: 'LEVEL_FRAME_TOO_LARGE' }])
    const random = await rawTls(port, Buffer.from(Array.from({ length: 8192 }, () => Math.floor(Math.random() * 256))))
    got['8 KiB of random bytes over TLS'] = random.answer
    expect(random.answer).toMatchObject([{ error: expect.stringMatching(refused) }])
    const plainAuth = await rawTcp(port, auth(TOKEN))
    got['plain TCP client (a valid token) on the TLS port'] = plainAuth
    const plainGarbage = await rawTcp(port, Buffer.alloc(4096, 0x41))
    got['plain TCP garbage on the TLS port'] = plainGarbage
    // No answer of the protocol: the TLS layer refuses them (an alert at most) and closes.
    for (const r of [plainAuth, plainGarbage]) expect(r.received).toBeLessThan(64)
    // After authenticating, garbage closes that one connection with LEVEL_PROTOCOL_ERROR (the
    // host's own rule); the leader goes on.
    const after = await rawTls(port, Buffer.concat([auth(TOKEN), Buffer.from([0x03, 0xee, 0xee, 0xee])]))
    got['garbage after authenticating'] = after.answer
    expect(after.answer).toEqual([{ access: 'readwrite' }])
    expect(await follower.call('get', 'k')).toBe('v')

    // 1,000 connections that say nothing: those beyond maxUnauthenticated (256) are dropped as
    // they are accepted; the others complete the TLS handshake and wait.
    await leader.call('gc')
    const rssBefore: number = await leader.call('rss')
    const held: tls.TLSSocket[] = []
    defer(() => {
      for (const s of held) s.destroy()
    })
    const outcomes: string[] = []
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(
        Array.from(
          { length: 50 },
          () =>
            new Promise<string>((resolve) => {
              const s = tls.connect({ host: '127.0.0.1', port, ca: certificates().ca }, () => resolve('held'))
              s.on('error', () => {})
              s.on('close', () => resolve('dropped'))
              held.push(s)
            })
        )
      )
      outcomes.push(...batch)
    }
    const kept = outcomes.filter((o) => o === 'held').length
    expect(kept + outcomes.filter((o) => o === 'dropped').length).toBe(1000)
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThanOrEqual(256)
    await until(async () => (await leader.call('host')).unauthenticated === kept, 30_000)
    // Others are served meanwhile.
    for (let i = 0; i < 50; i++) await follower.call('put', `during/${i}`, String(i))
    expect(await follower.call('get', 'during/49')).toBe('49')
    await leader.call('gc')
    const rssHeld: number = await leader.call('rss')
    const growth = rssHeld - rssBefore
    got['1,000 unauthenticated TLS connections'] = {
      held: kept,
      dropped: 1000 - kept,
      'leader RSS growth (MiB)': Number((growth / 2 ** 20).toFixed(1))
    }
    console.log(JSON.stringify(got, null, 2))
    expect(growth).toBeLessThan(32 * 2 ** 20)
    for (const s of held) s.destroy()
    await until(async () => (await leader.call('host')).unauthenticated === 0, 30_000)
    expect(await follower.call('get', 'k')).toBe('v')
  }, 120_000)

  it('drops an unauthenticated connection after the deadline, and one that sends nothing over TLS', async () => {
    const port = await freePort()
    const leader = new Peer(tempDir(), { listen: tlsListen(port, { authTimeout: 1000 }) })
    await leader.event('leader')
    await listening(port)
    // A first handshake warms the leader up (the deadline covers the handshake too).
    await rawTls(port, encodeInput(Input.auth, { token: 'a-wrong-token-for-warming-up' }))
    const silent = await rawTls(port, null)
    expect(silent.answer).toEqual([{ error: 'LEVEL_AUTH_FAILED', message: 'No credentials within 1000 ms' }])
    // A TCP connection that never starts its TLS handshake is cut by the handshake deadline.
    const started = Date.now()
    const result = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.on('error', () => {})
      s.on('close', () => resolve('closed'))
    })
    expect(result).toBe('closed')
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
