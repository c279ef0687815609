import { once } from 'node:events'
import { Duplex, pipeline } from 'node:stream'
import ModuleError from 'module-error'
import { describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { connect, connectedGuest, memoryHost, noop, silentHost, sleep, until } from './helpers.js'

const locked = () => new ModuleError('No leader', { code: 'LEVEL_LOCKED' })

describe('closing settles everything', () => {
  it('finishes operations issued before close(): they complete on a host that comes meanwhile', async () => {
    const { host } = memoryHost()
    const guest = new ResumableGuest()
    await guest.open()
    const ops = [
      guest.put('a', '1'),
      guest.get('a'),
      guest.getMany(['a']),
      guest.batch([{ type: 'put', key: 'b', value: '2' }])
    ]
    const it = guest.iterator()
    const read = it.next()
    const closed = guest.close()
    // A claim that nothing happens (close() waits for the operations, with no host to run them):
    // no event marks that, so it is checked after a while.
    await sleep(20)
    expect(guest.status).toBe('closing')
    connect(guest, host)
    await closed
    expect(await Promise.all(ops)).toEqual([undefined, '1', ['1'], undefined])
    expect(await read).toEqual(['a', '1'])
    expect(guest.isFlushed()).toBe(true)
  })

  it('finishes operations issued before close(): without a host they reject after timeout', async () => {
    const guest = new ResumableGuest({ timeout: 100 })
    await guest.open()
    const ops = [
      guest.put('a', '1'),
      guest.get('a'),
      guest.getMany(['a']),
      guest.batch([{ type: 'del', key: 'a' }]),
      guest.clear()
    ]
    const it = guest.iterator()
    // Handled from the start: they reject while close() is pending.
    const outcomes = Promise.allSettled([...ops, it.next()])
    await guest.close()
    for (const outcome of await outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'LEVEL_TIMEOUT' } })
    }
    expect(guest.isFlushed()).toBe(true)
  })

  it('rejects operations sent to a host that never answers after timeout, with a stalled event first', async () => {
    for (const retry of [true, false]) {
      const guest = new ResumableGuest({ retry, timeout: 300, stalledAfter: 50 })
      const stalled: unknown[] = []
      guest.on('stalled', (info) => stalled.push(info))
      silentHost(guest)
      await guest.open()
      const put = guest.put('a', '1')
      const it = guest.values()
      const read = it.nextv(10)
      await until(() => stalled.length > 0)
      expect(stalled[0]).toMatchObject({ reason: 'unresponsive' })
      await expect(put).rejects.toMatchObject({ code: 'LEVEL_TIMEOUT' })
      await expect(read).rejects.toMatchObject({ code: 'LEVEL_TIMEOUT' })
      await guest.close()
      await expect(it.next()).rejects.toMatchObject({ code: 'LEVEL_ITERATOR_NOT_OPEN' })
      expect(stalled.length).toBe(1)
    }
  })

  it('can be reopened with a new stream', async () => {
    const { host } = memoryHost()
    const guest = connectedGuest(host)
    await guest.put('a', '1')
    await guest.close()
    const put = guest.put('b', '2') // rejected: closed
    await expect(put).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
    await guest.open()
    const get = guest.get('a') // waits for a stream
    connect(guest, host)
    expect(await get).toBe('1')
    await guest.close()
  })
})

describe('connections', () => {
  it('allows one stream at a time, and none after forward()', async () => {
    const { db, host } = memoryHost()
    const guest = new ResumableGuest()
    const link = connect(guest, host)
    expect(() => guest.createRpcStream()).toThrow(/one rpc stream/)
    const lost = once(guest, 'disconnect')
    link.cut()
    await lost
    guest.forward(db)
    expect(() => guest.createRpcStream()).toThrow(/forward/)
    expect(() => guest.forward(db)).toThrow(/already/)
    await guest.close()
  })

  it('accepts a new stream right after the old one was destroyed', async () => {
    const { host } = memoryHost()
    const guest = new ResumableGuest()
    const link = connect(guest, host)
    await guest.put('a', '1')
    link.cut() // its 'close' event comes a tick later
    connect(guest, host)
    expect(await guest.get('a')).toBe('1')
    await guest.close()
  })

  it('emits connect, disconnect and forward, each once per change', async () => {
    const { db, host } = memoryHost()
    const guest = new ResumableGuest()
    const events: string[] = []
    for (const e of ['connect', 'disconnect', 'forward'] as const) guest.on(e, () => events.push(e))
    const link = connect(guest, host)
    await guest.put('a', '1')
    link.cut()
    await until(() => events.length === 2)
    connect(guest, host)
    guest.forward(db) // destroys the attached stream: no disconnect event, one forward event
    await guest.put('b', '2')
    expect(events).toEqual(['connect', 'disconnect', 'connect', 'forward'])
    await guest.close()
  })

  it('sends everything issued in one tick as one write', async () => {
    const { host } = memoryHost()
    const guest = new ResumableGuest()
    const g = guest.createRpcStream()
    const h = host.createRpcStream()
    let writes = 0
    g.on('data', () => writes++)
    pipeline(g, h, g, noop)
    await guest.open()
    await guest.get('warm-up') // after the handshake
    writes = 0
    const ops = []
    for (let i = 0; i < 500; i++) {
      ops.push(guest.put(`k${i}`, 'v'), guest.get(`k${i}`), guest.del(`x${i}`))
    }
    ops.push(guest.iterator().all())
    await Promise.all(ops)
    // One chunk for the 1501 operations and the iterator; the rest are iterator acks.
    expect(writes).toBeLessThanOrEqual(3)
    await guest.close()
  })

  it('rejects an operation larger than maxFrameSize instead of sending it', async () => {
    const { host } = memoryHost()
    const guest = connectedGuest(host, { maxFrameSize: 1000 })
    const big = 'x'.repeat(2000)
    const ops = [guest.put('a', big), guest.put('b', 'small'), guest.batch([{ type: 'put', key: 'c', value: big }])]
    const results = await Promise.allSettled(ops)
    expect(results.map((r) => (r.status === 'rejected' ? r.reason.code : 'ok'))).toEqual([
      'LEVEL_FRAME_TOO_LARGE',
      'ok',
      'LEVEL_FRAME_TOO_LARGE'
    ])
    expect(await guest.keys().all()).toEqual(['b'])
    expect(guest.isFlushed()).toBe(true)
    await guest.close()
  })

  it('treats a host that sends garbage as a lost connection, and retries elsewhere', async () => {
    const { host } = memoryHost()
    const guest = new ResumableGuest()
    const g = guest.createRpcStream()
    const liar = new Duplex({
      read() {},
      write(_chunk, _encoding, callback) {
        this.push(Buffer.from([3, 0xff, 0xff, 0xff])) // a frame with an unknown tag
        callback()
      }
    })
    pipeline(g, liar, g, noop)
    const lost = once(guest, 'disconnect')
    const put = guest.put('a', '1')
    await lost
    connect(guest, host)
    await put
    expect(await guest.get('a')).toBe('1')
    await guest.close()
  })

  it('follows the supports manifest', () => {
    const retry = new ResumableGuest()
    const noRetry = new ResumableGuest({ retry: false })
    for (const guest of [retry, noRetry]) {
      expect(guest.supports).toMatchObject({
        has: true,
        seek: true,
        explicitSnapshots: true,
        permanence: true,
        createIfMissing: false,
        errorIfExists: false,
        signals: { iterators: true },
        encodings: { buffer: true, utf8: true }
      })
      // getSync() needs the database at hand: not before forward().
      expect((guest.supports as { getSync?: boolean }).getSync).toBe(false)
    }
    expect(retry.supports.implicitSnapshots).toBe(false)
    expect(retry.supports.snapshots).toBe(false)
    expect(noRetry.supports.implicitSnapshots).toBe(true)
  })
})

describe('isFlushed(), flush and ref', () => {
  // Whether the process stays alive while something waits is shown by plain node processes
  // (test/event-loop.test.ts, packages/plain-scripts): a waiting caller holds the event loop.
  it('unrefs the connection at once, never refs it, and reports busy and flush', async () => {
    const { host } = memoryHost()
    const guest = new ResumableGuest()
    const calls: string[] = []
    const ref = { ref: () => calls.push('ref'), unref: () => calls.push('unref') }
    const g = guest.createRpcStream({ ref })
    const h = host.createRpcStream()
    pipeline(g, h, g, noop)
    expect(calls).toEqual(['unref'])
    await guest.open()
    let flushes = 0
    let busies = 0
    guest.on('flush', () => flushes++)
    guest.on('busy', () => busies++)
    const done = Promise.all([guest.put('a', '1'), guest.put('b', '2')])
    expect(guest.isFlushed()).toBe(false)
    await done
    expect(guest.isFlushed()).toBe(true)
    expect([busies, flushes]).toEqual([1, 1])

    // An open iterator that is not being read does not count; a read waiting for data does.
    const it = guest.iterator()
    expect(guest.isFlushed()).toBe(true)
    await guest.put('c', '3')
    const entries = await it.all()
    expect(entries.length).toBe(2) // read from the snapshot taken when it was created
    expect(busies).toBeGreaterThanOrEqual(3)
    expect(guest.isFlushed()).toBe(true)
    await guest.close()
    expect(calls).toEqual(['unref'])
  })
})

describe('rejectWaiting()', () => {
  it('rejects what waited long enough without a connection; iterators stay usable', async () => {
    const { db, host } = memoryHost()
    await db.put('x', 'x')
    const guest = new ResumableGuest()
    await guest.open()
    const early = guest.put('a', '1')
    const it = guest.keys()
    const read = it.next()
    await sleep(30)
    const late = guest.put('b', '2')
    expect(guest.rejectWaiting(locked(), 25)).toBe(2)
    await expect(early).rejects.toMatchObject({ code: 'LEVEL_LOCKED' })
    await expect(read).rejects.toMatchObject({ code: 'LEVEL_LOCKED' })
    expect(guest.isFlushed()).toBe(false) // `late` still waits
    connect(guest, host)
    await late
    // The iterator was created before the put of 'b', and its host iterator is opened in that order.
    expect(await it.all()).toEqual(['x'])
    await guest.close()
  })

  it('counts time waited on a lost connection from the loss, and does nothing while connected', async () => {
    const guest = new ResumableGuest()
    const link = silentHost(guest)
    await guest.open()
    const op = guest.put('a', '1')
    await sleep(30)
    expect(guest.rejectWaiting(locked(), 0)).toBe(0) // attached: nothing is rejected
    const lost = once(guest, 'disconnect')
    link.cut()
    await lost
    expect(guest.rejectWaiting(locked(), 10_000)).toBe(0) // the 30 ms before the loss do not count
    await sleep(25)
    expect(guest.rejectWaiting(locked(), 20)).toBe(1)
    await expect(op).rejects.toMatchObject({ code: 'LEVEL_LOCKED' })
    expect(guest.isFlushed()).toBe(true)
    await guest.close()
  })

  it('leaves a failed iterator read where it was', async () => {
    const { db, host } = memoryHost()
    await db.batch(['a', 'b', 'c'].map((key) => ({ type: 'put' as const, key, value: key })))
    const guest = new ResumableGuest()
    const link = connect(guest, host)
    const it = guest.keys()
    expect(await it.next()).toBe('a')
    const lost = once(guest, 'disconnect')
    link.cut()
    await lost
    const read = it.nextv(10)
    // Waiting since now: rejectWaiting() with no age takes what waits since this very moment.
    expect(guest.rejectWaiting(locked())).toBe(1)
    await expect(read).rejects.toMatchObject({ code: 'LEVEL_LOCKED' })
    connect(guest, host)
    expect(await it.nextv(10)).toEqual(['b', 'c'])
    await it.close()
    await guest.close()
  })
})

describe('iterator signals', () => {
  it('aborts a read waiting for the host with LEVEL_ABORTED', async () => {
    const guest = new ResumableGuest()
    silentHost(guest)
    await guest.open()
    const ac = new AbortController()
    const it = guest.iterator({ signal: ac.signal })
    const read = it.next()
    ac.abort()
    await expect(read).rejects.toMatchObject({ code: 'LEVEL_ABORTED', name: 'AbortError' })
    await it.close()
    await guest.close()
  })

  it('releases the iterator on the host when aborted, before close()', async () => {
    const { db, host } = memoryHost()
    await db.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 'v' })))
    const guest = new ResumableGuest()
    connect(guest, host)
    await guest.open()
    const ac = new AbortController()
    const it = guest.iterator({ signal: ac.signal })
    expect(await it.next()).toEqual(['k0', 'v'])
    await until(() => host.iterators === 1)
    ac.abort()
    await until(() => host.iterators === 0)
    await expect(it.next()).rejects.toMatchObject({ code: 'LEVEL_ABORTED' })
    await it.close()
    // Aborted before it was made: never opened on the host.
    const early = guest.iterator({ signal: ac.signal })
    await expect(early.next()).rejects.toMatchObject({ code: 'LEVEL_ABORTED' })
    expect(host.iterators).toBe(0)
    await early.close()
    await guest.close()
  })
})
