import { once } from 'node:events'
import { createConnection, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream'
import { decodeOutput, encodeInput, FrameDecoder, Input, Output, type RpcStream } from '@rave-level/protocol'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { tempDir, until } from './helpers.js'
import { WireClient } from './wire-client.js'

const b = (s: string) => Buffer.from(s)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const VALUE = Buffer.alloc(10 * 1024, 0x61)

/** A host on a unix socket, exposing each connection's host stream and server socket. */
async function socketHost(db: MemoryLevel<any, any>, options: ConstructorParameters<typeof LevelHost>[1]) {
  const dir = tempDir()
  const path = join(dir.path, 's')
  const host = new LevelHost(db, options)
  const connections: { stream: RpcStream; socket: Socket }[] = []
  const server = createServer((socket) => {
    const stream = host.createRpcStream() as RpcStream
    connections.push({ stream, socket })
    pipeline(socket, stream, socket, () => {})
  })
  server.listen(path)
  await once(server, 'listening')
  return {
    host,
    path,
    connections,
    async close() {
      server.close()
      await once(server, 'close')
      dir.remove()
    }
  }
}

/** A raw client that counts reply frames as they are read. */
function rawClient(path: string) {
  const socket = createConnection(path)
  const state = { frames: 0, data: 0, socket }
  const decoder = new FrameDecoder((frame) => {
    state.frames++
    if (decodeOutput(frame).tag === Output.iteratorData) state.data++
  })
  socket.on('data', (chunk) => decoder.push(chunk))
  socket.on('error', () => {})
  return state
}

describe('bounded memory', () => {
  it('holds a guest that floods requests without reading replies', async () => {
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    for (let i = 0; i < 100; i++) await db.put(b(`k${i}`), VALUE)
    const highWaterMark = 64 * 1024
    const maxInFlight = 64
    const h = await socketHost(db, { highWaterMark, maxInFlight })
    const client = rawClient(h.path)
    await once(client.socket, 'connect')
    client.socket.pause()

    // Write gets (each answered with 10 KiB) as fast as the host accepts them, never reading.
    let sent = 0
    let stalled = false
    while (!stalled) {
      while (client.socket.write(encodeInput(Input.get, { id: sent, key: b(`k${sent % 100}`) }))) sent++
      sent++
      const drained = await Promise.race([once(client.socket, 'drain').then(() => true), sleep(500).then(() => false)])
      stalled = !drained
      expect(sent).toBeLessThan(1_000_000)
    }
    // The host stopped reading: nothing more arrives while the guest does not read.
    const written = client.socket.bytesWritten
    await sleep(300)
    expect(client.socket.bytesWritten).toBe(written)
    const [conn] = h.connections
    const buffered = conn!.stream.bufferedOutput + conn!.socket.writableLength
    // The high-water mark, plus replies of operations in flight when output crossed it, plus the
    // socket's own buffer holding one tick's chunk: a bound set by the options, not by the flood.
    expect(buffered).toBeLessThan(highWaterMark + 3 * maxInFlight * (VALUE.length + 32))
    expect(sent * VALUE.length).toBeGreaterThan(10 * buffered)
    expect(conn!.stream.bufferedInput).toBeLessThan(64 * 1024)

    // Once the guest reads again, every request is answered.
    client.socket.resume()
    await until(() => client.frames === sent, 20_000)
    client.socket.destroy()
    await until(() => h.host.connections === 0)
    await h.close()
    await db.close()
  })

  it('sends a guest that stops consuming an iterator at most two batches more', async () => {
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.batch(Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: b(`k${String(i).padStart(5, '0')}`), value: VALUE })))
    const h = await socketHost(db, {})
    const client = rawClient(h.path)
    await once(client.socket, 'connect')
    // Open 20 iterators and acknowledge the first item of each, then never again.
    for (let id = 1; id <= 20; id++) client.socket.write(encodeInput(Input.iterator, { id, seq: 0, options: { keys: true, values: true, limit: -1 }, consumed: 0 }))
    await until(() => client.data === 20)
    for (let id = 1; id <= 20; id++) client.socket.write(encodeInput(Input.iteratorAck, { id, seq: 0, consumed: 1 }))
    await until(() => client.data === 60)
    const bytes = client.socket.bytesRead
    await sleep(300)
    expect(client.data).toBe(60)
    expect(client.socket.bytesRead).toBe(bytes)
    // Each batch holds about 16 KiB (here one 10 KiB entry rounds up to two).
    expect(bytes).toBeLessThan(20 * (VALUE.length + 100) + 40 * 2 * (VALUE.length + 100))
    client.socket.destroy()
    await until(() => h.host.connections === 0 && h.host.iterators === 0)
    await h.close()
    await db.close()
  })

  it('keeps every iterator of a guest that reads nothing at one item', async () => {
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: b(`k${i}`), value: VALUE })))
    const h = await socketHost(db, { maxIterators: 300 })
    const client = rawClient(h.path)
    await once(client.socket, 'connect')
    client.socket.pause()
    for (let id = 1; id <= 300; id++) client.socket.write(encodeInput(Input.iterator, { id, seq: 0, options: { keys: true, values: true, limit: -1 }, consumed: 0 }))
    await until(() => h.host.iterators === 300)
    await sleep(300)
    const [conn] = h.connections
    expect(conn!.stream.bufferedOutput + conn!.socket.writableLength).toBeLessThan(300 * (VALUE.length + 100))
    client.socket.destroy()
    await until(() => h.host.connections === 0 && h.host.iterators === 0)
    await h.close()
    await db.close()
  })

  it('answers pipelined operations in order when maxInFlight parks them', async () => {
    for (const maxInFlight of [1, 3, 64]) {
      const db = new MemoryLevel()
      const host = new LevelHost(db, { maxInFlight })
      const c = new WireClient(host)
      const expected = new Map<number, string | undefined>()
      const model = new Map<string, string>()
      let id = 0
      for (let i = 0; i < 600; i++) {
        const key = `k${i % 13}`
        switch (i % 4) {
          case 0:
          case 1:
            model.set(key, `v${i}`)
            c.send(Input.put, { id: ++id, key: b(key), value: b(`v${i}`) })
            break
          case 2:
            model.delete(key)
            c.send(Input.del, { id: ++id, key: b(key) })
            break
          default:
            expected.set(++id, model.get(key))
            c.send(Input.get, { id, key: b(key) })
        }
        if (i % 50 === 0) c.send(Input.iterator, { id: 10_000 + i, seq: 0, options: { keys: true, values: false, limit: 1 }, consumed: 0 })
      }
      await c.reply(id)
      for (const [getId, value] of expected) {
        const reply = await c.reply(getId)
        expect(reply.value === undefined ? undefined : String(reply.value), `get ${getId}`).toBe(value)
      }
      expect(Object.fromEntries(await db.iterator().all())).toEqual(Object.fromEntries(model))
      c.destroy()
      await until(() => host.connections === 0 && host.iterators === 0)
    }
  })
})
