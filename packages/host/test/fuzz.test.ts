import { createConnection } from 'node:net'
import { encodeInput, Input, type InputTag } from '@rave-level/protocol'
import { varint } from '@rave-level/test-utils'
import { ClassicLevel } from 'classic-level'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { serve, socketGuest, tempDir, until } from './helpers.js'
import { WireClient } from './wire-client.js'

/*
 * Hostile input must only ever cost the connection that sent it: the host keeps serving, every
 * fault arrives through 'fault' (nothing is thrown), counters return to zero and the heap does
 * not grow with the number of bad connections. Runs with --expose-gc (see vitest.config.ts).
 */

const gc = (globalThis as { gc?: () => void }).gc
const b = (s: string) => Buffer.from(s)
const MAX_FRAME = 64 * 1024

// A small seeded PRNG (mulberry32), so a failure can be replayed.
let seed = 0x5eed
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = (n: number) => Math.floor(random() * n)
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))

function frame(tag: number, body: Buffer): Buffer {
  return Buffer.concat([varint(body.length + 1), Buffer.from([tag]), body])
}

let dir: ReturnType<typeof tempDir>
let db: ClassicLevel<string, string>
let host: LevelHost
const faults: { err: any; stream: unknown }[] = []
const thrown: unknown[] = []
const onThrown = (err: unknown) => thrown.push(err)

beforeAll(async () => {
  dir = tempDir()
  db = new ClassicLevel(`${dir.path}/db`)
  await db.open()
  await db.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: `v${i}` })))
  host = new LevelHost(db, { maxFrameSize: MAX_FRAME })
  host.on('fault', (err, stream) => faults.push({ err, stream }))
  process.on('uncaughtException', onThrown)
  process.on('unhandledRejection', onThrown)
})

afterAll(async () => {
  process.off('uncaughtException', onThrown)
  process.off('unhandledRejection', onThrown)
  await db.close()
  dir.remove()
})

/** Send `payloads` on fresh in-process connections; return each one's fate. */
async function attack(payloads: Buffer[][]): Promise<{ client: WireClient; error: any }[]> {
  const clients = payloads.map((chunks) => {
    const client = new WireClient(host)
    const entry = { client, error: undefined as any }
    client.host.on('error', (err) => {
      entry.error = err
    })
    for (const chunk of chunks) client.raw(chunk)
    return entry
  })
  // Wait until every connection has processed what it got: the host failed it (and its 'error'
  // reached us), or it read every byte. Then drop the survivors.
  await until(() =>
    clients.every(({ client, error }) =>
      client.host.destroyed
        ? client.host.errored == null || error !== undefined
        : client.stream.bufferedOutput === 0 && client.host.writableLength === 0
    )
  )
  for (const { client } of clients) client.destroy()
  return clients
}

function garbageRound(): Buffer[][] {
  const payloads: Buffer[][] = []
  // Random bytes, in random chunkings.
  for (let i = 0; i < 40; i++) {
    const all = bytes(1 + int(3000))
    const chunks: Buffer[] = []
    for (let o = 0; o < all.length; ) {
      const n = 1 + int(500)
      chunks.push(all.subarray(o, o + n))
      o += n
    }
    payloads.push(chunks)
  }
  // Absurd length prefixes: just over the maximum, 2^40, and an endless varint.
  payloads.push([Buffer.from([0x81, 0x80, 0x04])])
  payloads.push([varint(2 ** 40)])
  payloads.push([Buffer.alloc(12, 0xff)])
  payloads.push([Buffer.from([0])]) // an empty frame
  // Every tag with a garbage body.
  for (let tag = 0; tag < 256; tag++) payloads.push([frame(tag, bytes(int(64)))])
  return payloads
}

it('drops connections that send garbage, reports each through fault, and keeps serving', async () => {
  for (let round = 0; round < 3; round++) {
    faults.length = 0
    const results = await attack(garbageRound())
    const failed = results.filter((r) => r.error !== undefined)
    // Unknown tags and absurd lengths can never be valid.
    expect(failed.length).toBeGreaterThan(250)
    for (const { client, error } of failed) {
      expect(['LEVEL_PROTOCOL_ERROR', 'LEVEL_FRAME_TOO_LARGE']).toContain(error.code)
      expect(faults.some((f) => f.stream === client.host && f.err === error)).toBe(true)
    }
    expect(faults.length).toBe(failed.length)
  }
  await until(() => host.connections === 0 && host.iterators === 0)
  expect(thrown).toEqual([])
})

it('ignores valid but nonsensical messages without dropping the connection', async () => {
  faults.length = 0
  const c = new WireClient(host)
  const it = { keys: true, values: true, limit: -1, reverse: false }
  const messages: [InputTag, any][] = [
    [Input.iteratorAck, { id: 77, seq: 0, consumed: 5 }],
    [Input.iteratorSeek, { id: 77, seq: 3, target: b('x') }],
    [Input.iteratorClose, { id: 77 }],
    [Input.iterator, { id: 1, seq: 0, options: it, consumed: 0 }],
    [Input.iterator, { id: 1, seq: 0, options: it, consumed: 0 }],
    [Input.iteratorClose, { id: 1 }],
    [Input.iteratorClose, { id: 1 }],
    [Input.iteratorAck, { id: 1, seq: 0, consumed: 1 }],
    [Input.iterator, { id: 2, seq: 9, options: { ...it, limit: -5 }, consumed: 2 ** 53 - 1 }],
    [
      Input.iterator,
      { id: 3, seq: 0, options: { ...it, limit: 2 ** 40 }, consumed: 0, bookmark: b('k5'), seek: b('k7') }
    ],
    [Input.iterator, { id: 4, seq: 0, options: { keys: false, values: false, gt: b('z'), lt: b('a') }, consumed: 0 }],
    [Input.iterator, { id: 5, seq: 0, options: {}, consumed: 0 }],
    [Input.iteratorAck, { id: 5, seq: 12345, consumed: 99 }],
    [Input.iteratorSeek, { id: 4, seq: 0, target: Buffer.alloc(0) }],
    [Input.get, { id: 0, key: Buffer.alloc(0) }],
    [Input.get, { id: 2 ** 32 - 1, key: b('k1') }],
    [Input.getMany, { id: 6, keys: [] }],
    [Input.getMany, { id: 7, keys: Array.from({ length: 1000 }, () => Buffer.alloc(0)) }],
    [Input.batch, { id: 8, ops: [] }],
    [Input.batch, { id: 9, ops: Array.from({ length: 1000 }, () => ({ type: 'del', key: b('nope') })) }],
    [Input.clear, { id: 10, options: { gt: b('zz'), limit: 0, reverse: true } }],
    [Input.del, { id: 11, key: b('never-existed') }]
  ]
  for (const [tag, message] of messages) c.send(tag, message)
  c.send(Input.get, { id: 12, key: b('k1') })
  expect(Buffer.from((await c.reply(12)).value).toString()).toBe('v1')
  expect((await c.reply(2 ** 32 - 1)).value).toEqual(b('v1'))
  expect((await c.reply(9)).error).toBeUndefined()
  expect(c.closed).toBe(false)
  expect(faults).toEqual([])
  c.destroy()
  await until(() => host.connections === 0 && host.iterators === 0)
  expect(thrown).toEqual([])
})

it('survives thousands of connections opened and dropped over a unix socket, some mid-frame', async () => {
  const server = await serve(host)
  const valid = encodeInput(Input.iterator, {
    id: 1,
    seq: 0,
    options: { keys: true, values: true, limit: -1 },
    consumed: 0
  })
  const put = encodeInput(Input.put, { id: 1, key: b('churn'), value: Buffer.alloc(100) })
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = createConnection(server.path)
      socket.on('error', () => {})
      socket.on('close', () => resolve())
      socket.resume()
      socket.on('connect', () => {
        switch (i % 5) {
          case 0: // drop at once
            socket.destroy()
            break
          case 1: // half a frame, then drop
            socket.write(put.subarray(0, 1 + int(put.length - 1)), () => socket.destroy())
            break
          case 2: // open an iterator and vanish
            socket.write(valid, () => setImmediate(() => socket.destroy()))
            break
          case 3: // a prefix announcing a huge frame
            socket.write(Buffer.from([0xff, 0xff, 0xff, 0x7f]), () => socket.end())
            break
          default: // a full write, then a clean end
            socket.end(put)
        }
      })
    })
  for (let batch = 0; batch < 40; batch++) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => one(batch * 50 + i)))
  }
  await until(() => host.connections === 0 && host.iterators === 0, 10_000)

  // A normal guest is still served correctly.
  const guest = socketGuest(server.path)
  await guest.put('after', 'churn')
  expect(await guest.get('after')).toBe('churn')
  expect(await guest.getMany(['k1', 'nope'])).toEqual(['v1', undefined])
  expect((await guest.keys({ gte: 'k1', lt: 'k2', limit: 3 }).all()).length).toBe(3)
  expect(await guest.iterator({ gte: 'k1999', lt: 'k2' }).all()).toEqual([['k1999', 'v1999']])
  await guest.close()
  await server.close()
  await until(() => host.connections === 0)
  for (const { err } of faults) expect(err.code).toMatch(/^LEVEL_/)
  expect(thrown).toEqual([])
})

it('does not grow the heap with the number of hostile connections', async () => {
  expect(gc, 'run with --expose-gc').toBeTypeOf('function')
  const round = async () => {
    faults.length = 0
    await attack(garbageRound())
    const c = new WireClient(host)
    for (let id = 1; id <= 50; id++)
      c.send(Input.iterator, { id, seq: 0, options: { keys: true, values: true, limit: -1 }, consumed: 0 })
    for (let id = 1; id <= 200; id++) c.send(Input.get, { id, key: b(`k${id}`) })
    await c.reply(200)
    c.destroy()
    await until(() => host.connections === 0 && host.iterators === 0)
  }
  const heap = async () => {
    await new Promise((resolve) => setTimeout(resolve, 20))
    gc!()
    gc!()
    return process.memoryUsage().heapUsed
  }
  // Warm up (JIT, lazily created internals), then measure over many rounds.
  for (let i = 0; i < 3; i++) await round()
  const before = await heap()
  for (let i = 0; i < 15; i++) await round()
  faults.length = 0
  const after = await heap()
  // Each round opens ~350 connections; a leak of even 1 KiB each would show as > 5 MiB.
  expect(after - before).toBeLessThan(4 * 1024 * 1024)
  expect(thrown).toEqual([])
})
