import { once } from 'node:events'
import { createConnection, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { pipeline } from 'node:stream'
import { decodeOutput, encodeInput, FrameDecoder, Input, Output, type RpcStream } from '@rave-level/protocol'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { steady, tempDir, until } from './helpers.js'
import { WireClient } from './wire-client.js'

const b = (s: string) => Buffer.from(s)
const VALUE = Buffer.alloc(10 * 1024, 0x61)

/** One connection as the host side sees it. */
interface HostSide {
  stream: RpcStream
  socket: Socket
  /** Bytes the server socket handed to the host stream: what the host took from the guest. */
  received: number
}

/** Bytes the host produced for the guest: sent, in the server socket's buffer, or in its stream's. */
const produced = (conn: HostSide) => conn.socket.bytesWritten + conn.stream.bufferedOutput

/** A host on a unix socket, exposing each connection's host stream and server socket. */
async function socketHost(db: MemoryLevel<any, any>, options: ConstructorParameters<typeof LevelHost>[1]) {
  const dir = tempDir()
  const path = join(dir.path, 's')
  const host = new LevelHost(db, options)
  const connections: HostSide[] = []
  const server = createServer((socket) => {
    const conn: HostSide = { stream: host.createRpcStream() as RpcStream, socket, received: 0 }
    connections.push(conn)
    // Counted where the pipe takes it: a socket that the pipe pauses emits nothing more.
    socket.on('data', (chunk: Buffer) => {
      conn.received += chunk.length
    })
    pipeline(socket, conn.stream, socket, () => {})
  })
  server.listen(path)
  await once(server, 'listening')
  return {
    host,
    path,
    connections,
    /** The host side of the first connection, once it is there. */
    async first(): Promise<HostSide> {
      await until(() => connections.length > 0)
      return connections[0] as HostSide
    },
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
  it('stops reading the requests of a guest that does not read its replies, and reads them again when it does', async () => {
    // Keys of 1 KiB, so that the requests outweigh every buffer between guest and host (the
    // kernel's, the sockets', the host stream's) many times over; values of 10 KiB, so that a
    // few replies fill the host's output.
    const key = (i: number) => b(`k${i}`.padEnd(1024, '.'))
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    for (let i = 0; i < 100; i++) await db.put(key(i), VALUE)
    const highWaterMark = 64 * 1024
    const maxInFlight = 64
    const h = await socketHost(db, { highWaterMark, maxInFlight })
    const client = rawClient(h.path)
    await once(client.socket, 'connect')
    client.socket.pause()
    const conn = await h.first()

    // 3000 gets (3 MiB) at once, never reading the replies (30 MiB): the client socket buffers
    // what the kernel does not take.
    const requests = Array.from({ length: 3000 }, (_, id) => encodeInput(Input.get, { id, key: key(id % 100) }))
    const total = requests.reduce((sum, frame) => sum + frame.length, 0)
    for (const frame of requests) client.socket.write(frame)

    // The host stops taking requests: what reached the host side no longer grows, and it is a
    // small part of what the guest sent (a host that read on would take it all, being local).
    const received = await steady(() => conn.received)
    expect(received).toBeLessThan(total / 4)
    expect(client.socket.writableLength).toBeGreaterThan(0)
    const buffered = conn.stream.bufferedOutput + conn.socket.writableLength
    // The high-water mark, plus replies of operations in flight when output crossed it, plus the
    // socket's own buffer holding one tick's chunk: a bound set by the options, not by the flood.
    expect(buffered).toBeLessThan(highWaterMark + 3 * maxInFlight * (VALUE.length + 32))
    expect(requests.length * VALUE.length).toBeGreaterThan(10 * buffered)
    expect(conn.stream.bufferedInput).toBeLessThan(64 * 1024)

    // Once the guest reads again, the host takes every request and answers it.
    client.socket.resume()
    await until(() => client.frames === requests.length, 20_000)
    expect(conn.received).toBe(total)
    client.socket.destroy()
    await until(() => h.host.connections === 0)
    await h.close()
    await db.close()
  })

  it('sends a guest that stops consuming an iterator at most two batches more', async () => {
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.batch(
      Array.from({ length: 5000 }, (_, i) => ({
        type: 'put' as const,
        key: b(`k${String(i).padStart(5, '0')}`),
        value: VALUE
      }))
    )
    const h = await socketHost(db, {})
    const client = rawClient(h.path)
    await once(client.socket, 'connect')
    const conn = await h.first()
    // Open 20 iterators and acknowledge the first item of each, then never again.
    for (let id = 1; id <= 20; id++)
      client.socket.write(
        encodeInput(Input.iterator, { id, seq: 0, options: { keys: true, values: true, limit: -1 }, consumed: 0 })
      )
    await until(() => client.data === 20)
    for (let id = 1; id <= 20; id++) client.socket.write(encodeInput(Input.iteratorAck, { id, seq: 0, consumed: 1 }))
    await until(() => client.data >= 60)
    // The host sends nothing more: what it produced stops growing, and the guest got all of it.
    const bytes = await steady(() => produced(conn))
    await until(() => client.socket.bytesRead === bytes)
    expect(client.data).toBe(60)
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
    const conn = await h.first()
    for (let id = 1; id <= 300; id++)
      client.socket.write(
        encodeInput(Input.iterator, { id, seq: 0, options: { keys: true, values: true, limit: -1 }, consumed: 0 })
      )
    await until(() => h.host.iterators === 300)
    // Each iterator sends its first item unasked, and then nothing until it is acknowledged.
    await until(() => produced(conn) >= 300 * VALUE.length)
    const bytes = await steady(() => produced(conn))
    expect(bytes).toBeLessThan(300 * (VALUE.length + 100))
    // One item each: the guest, reading at last, gets one IteratorData per iterator.
    client.socket.resume()
    await until(() => client.socket.bytesRead === bytes)
    expect(client.data).toBe(300)
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
        if (i % 50 === 0)
          c.send(Input.iterator, {
            id: 10_000 + i,
            seq: 0,
            options: { keys: true, values: false, limit: 1 },
            consumed: 0
          })
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
