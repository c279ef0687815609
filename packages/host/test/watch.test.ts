// The host's side of change feeds: Watch, WatchClose, WatchChanges, WatchGap.
import {
  decodeOutput,
  encodeInput,
  FrameDecoder,
  Input,
  Output,
  type OutputFrame,
  outputFrameLength
} from '@rave-level/protocol'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { until } from './helpers.js'
import { WireClient } from './wire-client.js'

const b = (s: string) => Buffer.from(s)
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString())
const all = { keys: true, values: true }

function memory() {
  return new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
}

/** A guest that said Hello (a rave-level guest). */
function guest(host: LevelHost): WireClient {
  const c = new WireClient(host)
  c.send(Input.hello, { version: 1, features: ['watch'] })
  return c
}

/** The changes a client received for watch `id`, as text (`key=value`, `-key`, or `gap`), in order. */
function feed(c: WireClient, id: number): string[] {
  const out: string[] = []
  for (const f of c.received) {
    if (f.tag === Output.watchGap && f.message.id === id) out.push('gap')
    if (f.tag !== Output.watchChanges || f.message.id !== id) continue
    for (const change of f.message.changes) {
      const key = text(change.key) ?? ''
      out.push(change.type === 'del' ? `-${key}` : change.value === undefined ? key : `${key}=${text(change.value)}`)
    }
  }
  return out
}

describe('Watch', () => {
  it('is a feature a rave-level host names', async () => {
    const c = guest(new LevelHost(memory()))
    await until(() => c.received.length > 0)
    expect(c.received[0]?.message).toMatchObject({ features: expect.arrayContaining(['watch']) })
  })

  it('sends every connection’s writes in the range, in commit order, each write’s changes together', async () => {
    const host = new LevelHost(memory())
    const watcher = guest(host)
    const writer = guest(host)
    watcher.send(Input.watch, { id: 1, watch: 7, gte: b('b'), lt: b('d'), ...all })
    watcher.send(Input.watch, { id: 2, watch: 8, keys: true, values: false })
    expect(await watcher.reply(1)).toEqual({ id: 1 })
    expect(await watcher.reply(2)).toEqual({ id: 2 })
    expect(host.watches).toBe(2)
    writer.send(Input.put, { id: 1, key: b('a'), value: b('1') })
    writer.send(Input.put, { id: 2, key: b('b'), value: b('2') })
    writer.send(Input.batch, {
      id: 3,
      ops: [
        { type: 'put', key: b('c'), value: b('3') },
        { type: 'del', key: b('b') },
        { type: 'put', key: b('d'), value: b('4') }
      ]
    })
    await writer.reply(3)
    watcher.send(Input.del, { id: 3, key: b('c') })
    await watcher.reply(3)
    await until(() => feed(watcher, 8).length === 6)
    expect(feed(watcher, 7)).toEqual(['b=2', 'c=3', '-b', '-c'])
    expect(feed(watcher, 8)).toEqual(['a', 'b', 'c', '-b', 'd', '-c'])
    // The batch arrived in one message (maybe with other writes of the same commit).
    const messages = watcher.received
      .filter((f) => f.tag === Output.watchChanges && f.message.id === 8)
      .map((f) => feed({ received: [f] } as unknown as WireClient, 8).join(' '))
    expect(messages.some((m) => m.includes('c -b d'))).toBe(true)
  })

  it('is registered in the connection’s issue order', async () => {
    const host = new LevelHost(memory())
    const c = guest(host)
    // Pipelined: the put before the watch is not seen, the one after it is (also when the put
    // waits for a read before it, and so has not reached the database when the watch arrives).
    c.send(Input.put, { id: 10, key: b('first'), value: b('1') })
    c.send(Input.get, { id: 11, key: b('first') })
    c.send(Input.put, { id: 1, key: b('before'), value: b('1') })
    c.send(Input.watch, { id: 2, watch: 1, ...all })
    c.send(Input.put, { id: 3, key: b('after'), value: b('1') })
    await c.reply(3)
    await until(() => feed(c, 1).length > 0)
    expect(feed(c, 1)).toEqual(['after=1'])
    // The answer to the watch came before its first change.
    const at = (pred: (f: OutputFrame) => boolean) => c.received.findIndex(pred)
    expect(at((f) => f.tag === Output.callback && f.message.id === 2)).toBeLessThan(
      at((f) => f.tag === Output.watchChanges)
    )
  })

  it('tells a clear as the deletes of exactly the keys it removed, from any guest', async () => {
    const host = new LevelHost(memory())
    const c = guest(host)
    const plain = new WireClient(host)
    c.send(Input.batch, { id: 1, ops: ['a', 'b', 'c', 'd'].map((k) => ({ type: 'put', key: b(k), value: b('v') })) })
    c.send(Input.watch, { id: 2, watch: 1, keys: true, values: false })
    await c.reply(2)
    plain.send(Input.clear, { id: 1, options: { gt: b('a'), limit: 2, reverse: false } })
    await plain.reply(1)
    await until(() => feed(c, 1).length === 2)
    expect(feed(c, 1)).toEqual(['-b', '-c'])
  })

  it('is released by WatchClose and by the end of its connection', async () => {
    const host = new LevelHost(memory())
    const c = guest(host)
    c.send(Input.watch, { id: 1, watch: 1, ...all })
    c.send(Input.watch, { id: 2, watch: 2, ...all })
    c.send(Input.watchClose, { id: 3, watch: 1 })
    expect(await c.reply(3)).toEqual({ id: 3 })
    expect(host.watches).toBe(1)
    c.send(Input.put, { id: 4, key: b('k'), value: b('v') })
    await c.reply(4)
    await until(() => feed(c, 2).length === 1)
    expect(feed(c, 1)).toEqual([])
    c.destroy()
    await until(() => host.watches === 0)
  })

  it('gives each watch its own frames when watches alike share one encoding of a commit', async () => {
    const host = new LevelHost(memory())
    // Alike but for their ids (of 1, 2 and 3 varint bytes) and their guests' frame limits.
    const small = new WireClient(host)
    small.send(Input.hello, { version: 1, features: ['watch'], maxFrameSize: 300 })
    const watchers = [guest(host), guest(host), guest(host), small]
    const ids = [5, 300, 70000, 6]
    for (const [i, c] of watchers.entries()) c.send(Input.watch, { id: 1, watch: ids[i] as number, ...all })
    // Same range as others but keys only, and a range of its own.
    const other = guest(host)
    other.send(Input.watch, { id: 1, watch: 9, keys: true, values: false })
    other.send(Input.watch, { id: 2, watch: 10, gte: b('k1'), ...all })
    for (const c of [...watchers, other]) await c.reply(c === other ? 2 : 1)
    const writer = guest(host)
    const ops = Array.from({ length: 40 }, (_, i) => ({
      type: 'put',
      key: b(`k${i}`),
      value: Buffer.alloc(i * 10, 0x61)
    }))
    writer.send(Input.batch, { id: 1, ops })
    writer.send(Input.del, { id: 2, key: b('k3') })
    await writer.reply(2)
    const expected = [...ops.map((op) => `${text(op.key)}=${text(op.value)}`), '-k3']
    for (const [i, c] of watchers.entries()) await until(() => feed(c, ids[i] as number).length >= expected.length)
    for (const [i, c] of watchers.entries()) {
      const got = feed(c, ids[i] as number)
      // The guest with 300-byte frames gets a gap for each change that cannot fit in one.
      if (c === small) {
        const fits = (op: (typeof ops)[number]) =>
          outputFrameLength(Output.watchChanges, { id: 6, changes: [{ type: 'put', key: op.key, value: op.value }] }) <=
          300
        expect(got).toEqual([...ops.map((op, j) => (fits(op) ? expected[j] : 'gap')), '-k3'])
        expect(got).toContain('gap')
      } else expect(got).toEqual(expected)
    }
    expect(small.received.every((f) => f.tag !== Output.watchChanges || f.message.changes.length > 0)).toBe(true)
    const inRange = expected.filter((e) => e.replace(/^-/, '') >= 'k1')
    expect(inRange.length).toBe(40)
    await until(() => feed(other, 10).length === inRange.length)
    expect(feed(other, 9)).toEqual([...ops.map((op) => text(op.key)), '-k3'])
    expect(feed(other, 10)).toEqual(inRange)
  })

  it('refuses more than maxWatches per connection with LEVEL_TOO_MANY_WATCHES', async () => {
    const host = new LevelHost(memory(), { maxWatches: 2 })
    const c = guest(host)
    for (let i = 1; i <= 3; i++) c.send(Input.watch, { id: i, watch: i, ...all })
    expect(await c.reply(2)).toEqual({ id: 2 })
    expect(await c.reply(3)).toMatchObject({ error: 'LEVEL_TOO_MANY_WATCHES' })
    expect(host.watches).toBe(2)
  })

  it('turns a change that does not fit in the guest’s frames into a gap', async () => {
    const host = new LevelHost(memory())
    const c = new WireClient(host)
    c.send(Input.hello, { version: 1, features: ['watch'], maxFrameSize: 1024 })
    c.send(Input.watch, { id: 1, watch: 1, ...all })
    await c.reply(1)
    c.send(Input.batch, {
      id: 2,
      ops: [
        { type: 'put', key: b('small'), value: b('1') },
        { type: 'put', key: b('big'), value: Buffer.alloc(2000) },
        ...Array.from({ length: 30 }, (_, i) => ({ type: 'put', key: b(`k${i}`), value: Buffer.alloc(50) }))
      ]
    })
    await c.reply(2)
    await until(() => feed(c, 1).length === 32)
    expect(feed(c, 1).slice(0, 3)).toEqual(['small=1', 'gap', `k0=${'\0'.repeat(50)}`])
    // Split into frames that fit.
    expect(c.received.filter((f) => f.tag === Output.watchChanges).length).toBeGreaterThan(2)
  })

  it('keeps a bounded queue for a guest that does not read, and sends a gap once it reads again', async () => {
    const maxWatchQueue = 64 * 1024
    const highWaterMark = 64 * 1024
    const host = new LevelHost(memory(), { maxWatchQueue, highWaterMark })
    // The watcher's side of the connection is not read until later.
    const stalled = host.createRpcStream()
    stalled.write(encodeInput(Input.hello, { version: 1, features: ['watch'] }))
    stalled.write(encodeInput(Input.watch, { id: 1, watch: 1, keys: true, values: true }))
    const writer = guest(host)
    const value = Buffer.alloc(1000, 0x61)
    const n = 2000
    for (let i = 0; i < n; i++) writer.send(Input.put, { id: i + 1, key: b(`k${String(i).padStart(5, '0')}`), value })
    await writer.reply(n)
    // 2 MB were written; what the host keeps for the watcher is bounded: its output reached the
    // high-water mark with at most one frame more (64 KiB at most), the rest waits in the
    // watch's queue.
    expect((stalled as any).bufferedOutput).toBeLessThan(highWaterMark + 80 * 1024)
    const received: OutputFrame[] = []
    let bytes = 0
    const decoder = new FrameDecoder((frame) => received.push(decodeOutput(Buffer.from(frame))))
    stalled.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      decoder.push(chunk)
    })
    writer.send(Input.put, { id: n + 1, key: b('last'), value: b('1') })
    await writer.reply(n + 1)
    const c = { received } as unknown as WireClient
    await until(() => feed(c, 1).at(-1) === 'last=1')
    expect(bytes).toBeLessThan(highWaterMark + 80 * 1024 + maxWatchQueue)
    const keys = feed(c, 1).map((s) => s.split('=')[0])
    // A prefix of the writes, one gap, then the latest of them and the last put: nothing in
    // between, nothing twice, in order.
    const gap = keys.indexOf('gap')
    expect(gap).toBeGreaterThan(0)
    expect(keys.lastIndexOf('gap')).toBe(gap)
    const before = keys.slice(0, gap)
    const after = keys.slice(gap + 1, -1)
    const all = Array.from({ length: n }, (_, i) => `k${String(i).padStart(5, '0')}`)
    expect(before).toEqual(all.slice(0, before.length))
    expect(after).toEqual(all.slice(n - after.length))
    expect(before.length + after.length).toBeLessThan(n)
    stalled.destroy()
    await until(() => host.watches === 0)
  })
})
