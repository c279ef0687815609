// The AuthGate in front of a LevelHost, over real TCP sockets on loopback.
import net from 'node:net'
import { pipeline } from 'node:stream'
import { decodeOutput, encodeInput, FrameDecoder, Input, Output, type OutputFrame } from '@rave-level/protocol'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { afterEach, describe, expect, it } from 'vitest'
import { AuthGate, type AuthGateOptions, LevelHost } from '../dist/index.js'
import { tempDir, until } from './helpers.js'
import { WireClient } from './wire-client.js'

const TOKEN = 'readwrite-token-0123456789'
const READ_TOKEN = 'readonly-token-0123456789'
const b = (s: string) => Buffer.from(s)

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

/** A host behind a gate on a loopback port. */
async function gated(options: Partial<AuthGateOptions> = {}) {
  const db = new MemoryLevel()
  await db.put('k', 'v')
  const host = new LevelHost(db)
  const gate = new AuthGate({
    tokens: [
      { token: TOKEN, access: 'readwrite' },
      { token: READ_TOKEN, access: 'readonly' }
    ],
    ...options
  })
  const server = net.createServer((socket) =>
    gate.admit(socket, (admitted, access) => {
      pipeline(admitted, host.createRpcStream({ readonly: access === 'readonly' }), admitted, () => {})
    })
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return { db, gate, port }
}

/** A raw client: what it received (decoded frames) and whether the host closed it. */
function client(port: number) {
  const socket = net.connect(port, '127.0.0.1')
  const received: OutputFrame[] = []
  const state = { closed: false }
  const decoder = new FrameDecoder((frame) => received.push(decodeOutput(Buffer.from(frame))))
  socket.on('data', (chunk) => decoder.push(chunk))
  socket.on('error', () => {})
  socket.on('close', () => {
    state.closed = true
  })
  cleanups.push(() => socket.destroy())
  return { socket, received, state }
}

const auth = (token?: string) => encodeInput(Input.auth, { token })

describe('AuthGate', () => {
  it('validates its options', () => {
    expect(() => new AuthGate({ tokens: [{ token: 'short', access: 'readwrite' }] })).toThrow(RangeError)
    expect(() => new AuthGate({ tokens: [{ token: TOKEN, access: 'write' as never }] })).toThrow(TypeError)
    expect(() => new AuthGate({ tokens: TOKEN as never })).toThrow(TypeError)
    expect(() => new AuthGate({ timeout: 0 })).toThrow(RangeError)
  })

  it('admits a valid token, with what follows its Auth in the same write', async () => {
    const { port } = await gated()
    const c = client(port)
    c.socket.write(Buffer.concat([auth(TOKEN), encodeInput(Input.get, { id: 1, key: b('k') })]))
    await until(() => c.received.length >= 2)
    expect(c.received[0]).toEqual({ tag: Output.authResult, message: { access: 'readwrite' } })
    expect(c.received[1]).toMatchObject({ tag: Output.callback, message: { id: 1 } })
    expect(Buffer.from((c.received[1] as any).message.value).toString()).toBe('v')
  })

  it('gives a read-only token LEVEL_READONLY for every write, and reads', async () => {
    const { port, db } = await gated()
    const c = client(port)
    c.socket.write(auth(READ_TOKEN))
    c.socket.write(encodeInput(Input.put, { id: 1, key: b('k'), value: b('x') }))
    c.socket.write(encodeInput(Input.del, { id: 2, key: b('k') }))
    c.socket.write(encodeInput(Input.batch, { id: 3, ops: [{ type: 'del', key: b('k') }] }))
    c.socket.write(encodeInput(Input.clear, { id: 4, options: {} }))
    c.socket.write(encodeInput(Input.get, { id: 5, key: b('k') }))
    await until(() => c.received.length >= 6)
    expect(c.received[0]).toEqual({ tag: Output.authResult, message: { access: 'readonly' } })
    expect(c.received.slice(1, 5).map((f) => (f.message as any).error)).toEqual(Array(4).fill('LEVEL_READONLY'))
    expect(await db.get('k')).toBe('v')
  })

  for (const [name, bytes, code] of [
    ['a wrong token', auth('wrong-token-0123456789'), 'LEVEL_AUTH_FAILED'],
    ['no token', auth(), 'LEVEL_AUTH_FAILED'],
    ['a request before Auth', encodeInput(Input.get, { id: 1, key: b('k') }), 'LEVEL_AUTH_FAILED'],
    ['garbage', Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]), 'LEVEL_PROTOCOL_ERROR'],
    ['an invalid length', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'LEVEL_FRAME_TOO_LARGE'],
    ['an announced frame over the cap', Buffer.from([0x80, 0x80, 0x01]), 'LEVEL_FRAME_TOO_LARGE'],
    ['an empty frame', Buffer.from([0x00]), 'LEVEL_PROTOCOL_ERROR']
  ] as const) {
    it(`refuses ${name} with ${code}, once, and closes`, async () => {
      const { port, gate } = await gated()
      const c = client(port)
      c.socket.write(bytes)
      // Whatever comes next is never read.
      c.socket.write(encodeInput(Input.get, { id: 2, key: b('k') }))
      await until(() => c.state.closed)
      expect(c.received).toEqual([{ tag: Output.authResult, message: { error: code, message: expect.any(String) } }])
      expect(gate.pending).toBe(0)
    })
  }

  it('refuses a connection that sends more than maxBytes without a whole frame', async () => {
    const { port } = await gated({ maxBytes: 100 })
    const c = client(port)
    // A frame announcing 90 bytes, then 200 bytes.
    c.socket.write(Buffer.concat([Buffer.from([90]), Buffer.alloc(200, 1)]))
    await until(() => c.state.closed)
    expect(c.received).toMatchObject([{ message: { error: 'LEVEL_PROTOCOL_ERROR' } }])
  })

  it('refuses a connection that says nothing within the deadline', async () => {
    const { port, gate } = await gated({ timeout: 200 })
    const c = client(port)
    await until(() => gate.pending === 1)
    await until(() => c.state.closed)
    expect(c.received).toMatchObject([
      { message: { error: 'LEVEL_AUTH_FAILED', message: 'No credentials within 200 ms' } }
    ])
    expect(gate.pending).toBe(0)
  })

  it('drops connections beyond maxPending at once, and admits again once they left', async () => {
    const { port, gate } = await gated({ maxPending: 2 })
    const waiting = [client(port), client(port)]
    await until(() => gate.pending === 2)
    const dropped = client(port)
    await until(() => dropped.state.closed)
    expect(dropped.received).toEqual([])
    for (const c of waiting) c.socket.destroy()
    await until(() => gate.pending === 0)
    const late = client(port)
    late.socket.write(auth(TOKEN))
    await until(() => late.received.length === 1)
    expect(late.received[0]).toMatchObject({ message: { access: 'readwrite' } })
  })
})

/** A classic-level database in a temp dir (it has compactRange), closed and removed after the test. */
async function classicDb(): Promise<ClassicLevel> {
  const dir = tempDir()
  const db = new ClassicLevel(dir.path)
  await db.open()
  cleanups.push(async () => {
    await db.close()
    dir.remove()
  })
  return db
}

describe('a read-only connection of a LevelHost', () => {
  it('answers compactRange with LEVEL_READONLY; a readwrite connection of the same host runs it', async () => {
    const db = await classicDb()
    const host = new LevelHost(db)
    // WireClient makes a read-write stream; a read-only one by hand.
    const stream = host.createRpcStream({ readonly: true })
    const replies: OutputFrame[] = []
    const decoder = new FrameDecoder((frame) => replies.push(decodeOutput(Buffer.from(frame))))
    stream.on('data', (chunk: Buffer) => decoder.push(chunk))
    stream.write(encodeInput(Input.call, { id: 1, method: 'compactRange', start: b('a'), end: b('z') }))
    stream.write(encodeInput(Input.call, { id: 2, method: 'getProperty', property: 'leveldb.stats' }))
    await until(() => replies.length === 2)
    expect(replies[0]).toMatchObject({ message: { id: 1, error: 'LEVEL_READONLY' } })
    expect(replies[1]).toMatchObject({ message: { id: 2 } })
    expect((replies[1] as any).message.error).toBeUndefined()
    stream.destroy()
    const readwrite = new WireClient(host)
    readwrite.send(Input.call, { id: 1, method: 'compactRange', start: b('a'), end: b('z') })
    expect((await readwrite.reply(1)).error).toBeUndefined()
    readwrite.destroy()
  })

  it('a readonly host answers compactRange with LEVEL_READONLY too', async () => {
    const db = await classicDb()
    const c = new WireClient(new LevelHost(db, { readonly: true }))
    c.send(Input.call, { id: 1, method: 'compactRange', start: b('a'), end: b('z') })
    expect((await c.reply(1)).error).toBe('LEVEL_READONLY')
    c.destroy()
  })
})
