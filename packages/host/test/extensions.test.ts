// The host's side of the protocol extensions (Hello, Heartbeat, error messages, frame limits,
// sync) and the hard limits that keep a guest from hurting the leader.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Input, Output } from '@rave-level/protocol'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { steady, tempDir, until } from './helpers.js'
import { WireClient } from './wire-client.js'

const b = (s: string) => Buffer.from(s)
// The private API (_put, _batch, ...) is not in the type declarations: extend untyped classes.
const MemoryBase = MemoryLevel as unknown as new (options?: object) => any
const ClassicBase = ClassicLevel as unknown as new (location: string, options?: object) => any
type AnyDb = ConstructorParameters<typeof LevelHost>[0]
const here = fileURLToPath(new URL('.', import.meta.url))
const entries = { keys: true, values: true, limit: -1, reverse: false }

/** A memory-level whose writes wait until `release()`, recording what reached it. */
class GatedLevel extends MemoryBase {
  written = 0
  /** Operations of each write call, in order. */
  calls: number[] = []
  gate: Promise<void> = new Promise(() => {})
  open_ = () => {}
  constructor() {
    super({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    this.close_()
  }
  close_(): void {
    this.gate = new Promise((resolve) => {
      this.open_ = resolve
    })
  }
  async _batch(operations: any[], options: any): Promise<void> {
    this.written += operations.length
    this.calls.push(operations.length)
    await this.gate
    return super._batch(operations, options)
  }
  async _put(key: any, value: any, options: any): Promise<void> {
    this.written++
    this.calls.push(1)
    await this.gate
    return super._put(key, value, options)
  }
}

describe('Hello', () => {
  it('is answered at once with the features, the frame limit and the pid', async () => {
    const c = new WireClient(new LevelHost(new MemoryLevel(), { maxFrameSize: 1234 }))
    c.send(Input.hello, { version: 1, features: [], maxFrameSize: 4096 })
    await until(() => c.received.length > 0)
    expect(c.received[0]).toEqual({
      tag: Output.hello,
      message: {
        version: 1,
        features: ['heartbeat', 'messages', 'frame-limit', 'sync', 'snapshots', 'call', 'watch', 'cache'],
        maxFrameSize: 1234,
        pid: process.pid
      }
    })
    c.destroy()
  })

  it('comes before the reply to anything sent after it, even while input is parked', async () => {
    const db = new GatedLevel()
    const c = new WireClient(new LevelHost(db as unknown as AnyDb, { maxInFlight: 1 }))
    c.send(Input.put, { id: 1, key: b('a'), value: b('1') })
    c.send(Input.put, { id: 2, key: b('b'), value: b('2') })
    c.send(Input.hello, { version: 1, features: [] })
    await until(() => c.received.length > 0)
    expect(c.received[0]?.tag).toBe(Output.hello)
    db.open_()
    expect((await c.reply(2)).error).toBeUndefined()
    c.destroy()
  })
})

describe('Heartbeat', () => {
  it('is sent while a guest waits and nothing else is sent, and not when idle', async () => {
    const db = new GatedLevel()
    const c = new WireClient(new LevelHost(db as unknown as AnyDb))
    c.send(Input.hello, { version: 1, features: [], heartbeat: 20 })
    await until(() => c.received.length === 1)
    // Idle: no heartbeats.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(c.received.filter((f) => f.tag === Output.heartbeat)).toEqual([])
    // A write that hangs in the database: the host's event loop is alive, so it says so.
    c.send(Input.put, { id: 1, key: b('a'), value: b('1') })
    await until(() => c.received.filter((f) => f.tag === Output.heartbeat).length >= 3)
    db.open_()
    await c.reply(1)
    c.destroy()
  })

  it('is never sent to a guest that did not say Hello (many-level 2)', async () => {
    const db = new GatedLevel()
    const c = new WireClient(new LevelHost(db as unknown as AnyDb))
    c.send(Input.put, { id: 1, key: b('a'), value: b('1') })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(c.received).toEqual([])
    db.open_()
    await c.reply(1)
    c.destroy()
  })
})

describe('replies over the guest frame limit', () => {
  it('fail with LEVEL_FRAME_TOO_LARGE instead of being sent, and the connection goes on', async () => {
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.put(b('big'), Buffer.alloc(3000, 1))
    await db.put(b('small'), Buffer.alloc(10, 2))
    const c = new WireClient(new LevelHost(db))
    c.send(Input.hello, { version: 1, features: [], maxFrameSize: 1000 })
    c.send(Input.get, { id: 1, key: b('big') })
    c.send(Input.get, { id: 2, key: b('small') })
    const one = await c.reply(1)
    expect(one.error).toBe('LEVEL_FRAME_TOO_LARGE')
    expect(one.value).toBeUndefined()
    expect(one.message).toMatch(/at most 1000/)
    expect((await c.reply(2)).value).toEqual(Buffer.alloc(10, 2))
    c.destroy()
  })

  it('answer a getMany that does not fit in parts, each within the limit', async () => {
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    for (let i = 0; i < 5; i++) await db.put(b(`m${i}`), Buffer.alloc(300, i))
    await db.put(b('big'), Buffer.alloc(3000, 9))
    const c = new WireClient(new LevelHost(db))
    c.send(Input.hello, { version: 1, features: [], maxFrameSize: 1000 })
    const keys = ['m0', 'm1', 'big', 'missing', 'm2', 'm3', 'm4'].map(b)
    c.send(Input.getMany, { id: 1, keys })
    c.send(Input.getMany, { id: 2, keys: [b('m0')] })
    await c.reply(2)
    const parts = c.received.filter((f) => f.tag === Output.getManyPart).map((f) => f.message as any)
    expect(parts.length).toBeGreaterThan(1)
    const values: (Buffer | undefined)[] = []
    const oversized: number[] = []
    for (const part of parts) {
      expect(part.start).toBe(values.length)
      for (const i of part.oversized) oversized.push(part.start + i)
      for (const v of part.values) values.push(v.value)
    }
    expect(oversized).toEqual([2])
    expect(values).toEqual([
      Buffer.alloc(300, 0),
      Buffer.alloc(300, 1),
      undefined,
      undefined,
      Buffer.alloc(300, 2),
      Buffer.alloc(300, 3),
      Buffer.alloc(300, 4)
    ])
    // The answer to the first getMany came in parts, before the second (in order).
    expect(c.received.findIndex((f) => f.tag === Output.getManyCallback)).toBeGreaterThan(
      c.received.findLastIndex((f) => f.tag === Output.getManyPart)
    )
    c.destroy()
  })

  it('split iterator data into frames that fit, and fail an entry that cannot fit', async () => {
    const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    for (let i = 0; i < 6; i++) await db.put(b(`k${i}`), Buffer.alloc(400, i))
    await db.put(b('z'), Buffer.alloc(5000, 9))
    const c = new WireClient(new LevelHost(db as unknown as AnyDb))
    c.send(Input.hello, { version: 1, features: [], maxFrameSize: 1000 })
    c.send(Input.iterator, { id: 1, seq: 0, options: entries, consumed: 0 })
    const data = () => c.iteratorMessages(1).filter((f) => f.tag === Output.iteratorData)
    let consumed = 0
    // Acknowledge every message as it arrives, as a guest that reads does.
    await until(() => {
      for (let n = data().length - consumed; n > 0; n--) {
        consumed++
        c.send(Input.iteratorAck, { id: 1, seq: 0, consumed })
      }
      return c.iteratorMessages(1).some((f) => f.tag === Output.iteratorError)
    })
    const keys = data().flatMap((f) =>
      (f.message as any).data.filter((_: unknown, i: number) => i % 2 === 0).map(String)
    )
    expect(keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5'])
    expect(c.iteratorMessages(1).at(-1)?.message).toMatchObject({ error: 'LEVEL_FRAME_TOO_LARGE' })
    c.destroy()
  })
})

describe('limits', () => {
  it('bound the bytes of requests a guest has in flight', async () => {
    const db = new GatedLevel()
    const maxInFlightBytes = 64 * 1024
    const c = new WireClient(new LevelHost(db as unknown as AnyDb, { maxInFlightBytes }))
    const value = Buffer.alloc(1024)
    for (let i = 0; i < 1000; i++) c.send(Input.put, { id: i, key: b(`k${i}`), value })
    await until(() => db.written > 0)
    // Until the host stops taking frames: it holds the rest unread (its write callback waits).
    await steady(() => c.host.writableLength)
    // While the first write hangs, later ones that the host accepted wait in its sequencer and
    // become the second write once the first settles: its size is what the host took in.
    db.open_()
    expect((await c.reply(999)).error).toBeUndefined()
    expect(db.written).toBe(1000)
    const accepted = (db.calls[0] ?? 0) + (db.calls[1] ?? 0)
    expect(accepted * 1030).toBeLessThan(maxInFlightBytes + 2048)
    c.destroy()
  })

  it('respect a served database that overrides its public write methods', async () => {
    class Audited extends MemoryBase {
      calls: string[] = []
      async put(key: any, value: any, options?: any): Promise<void> {
        this.calls.push('put')
        return super.put(key, value, options)
      }
      async batch(operations: any, options?: any): Promise<void> {
        this.calls.push('batch')
        return super.batch(operations, options)
      }
    }
    const db = new Audited({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    const c = new WireClient(new LevelHost(db as unknown as AnyDb))
    c.send(Input.put, { id: 1, key: b('a'), value: b('1') })
    await c.reply(1)
    c.send(Input.batch, { id: 2, ops: [{ type: 'put', key: b('b'), value: b('2') }] })
    await c.reply(2)
    expect(db.calls.length).toBeGreaterThanOrEqual(2)
    expect(String(await db.get(b('b')))).toBe('2')
    c.destroy()
  })

  it('pass sync: true through to classic-level', async () => {
    const dir = tempDir()
    const seen: boolean[] = []
    class Recording extends ClassicBase {
      async _put(key: any, value: any, options: any): Promise<void> {
        seen.push(options.sync === true)
        return super._put(key, value, options)
      }
      async _del(key: any, options: any): Promise<void> {
        seen.push(options.sync === true)
        return super._del(key, options)
      }
      async _batch(operations: any[], options: any): Promise<void> {
        seen.push(options.sync === true)
        return super._batch(operations, options)
      }
    }
    const db = new Recording(join(dir.path, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.open()
    const c = new WireClient(new LevelHost(db as unknown as AnyDb))
    c.send(Input.put, { id: 1, key: b('a'), value: b('1'), sync: true })
    await c.reply(1)
    c.send(Input.put, { id: 2, key: b('b'), value: b('2') })
    await c.reply(2)
    c.send(Input.batch, { id: 3, ops: [{ type: 'del', key: b('a') }], sync: true })
    await c.reply(3)
    expect(seen).toEqual([true, false, true])
    c.destroy()
    await db.close()
    dir.remove()
  })

  it('never lets a seek outside the range reach the database (classic-level would abort)', async () => {
    // In a child process: if the seek reached classic-level on an empty database, LevelDB's
    // assertion would abort the whole process.
    const child = fork(join(here, 'fixtures', 'seek-outside.mjs'), { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    let output = ''
    child.stdout?.on('data', (d) => (output += d))
    child.stderr?.on('data', (d) => (output += d))
    const [code, signal] = await once(child, 'exit')
    expect({ code, signal, output: output.trim() }).toEqual({ code: 0, signal: null, output: 'ended' })
  })
})

/**
 * The host has read every byte `client` sent: none waits in the client's stream (queued or
 * buffered) or in the host's write buffer. The host handles each frame as it reads it, so every request sent so far
 * has been taken (or refused).
 */
const took = (client: WireClient): boolean => client.stream.bufferedOutput === 0 && client.host.writableLength === 0

/** A GatedLevel whose reads also wait until `releaseReads()`. */
class SlowReadLevel extends GatedLevel {
  reads = 0
  /** Reads that returned. */
  readsDone = 0
  #readGate: Promise<void>
  releaseReads = () => {}
  constructor() {
    super()
    this.open_()
    this.#readGate = new Promise((resolve) => {
      this.releaseReads = resolve
    })
  }
  async _get(key: any, options: any): Promise<any> {
    this.reads++
    await this.#readGate
    try {
      return await super._get(key, options)
    } finally {
      this.readsDone++
    }
  }
  async _getMany(keys: any[], options: any): Promise<any[]> {
    this.reads++
    await this.#readGate
    try {
      return await super._getMany(keys, options)
    } finally {
      this.readsDone++
    }
  }
}

describe('stopping', () => {
  // A guest sends again what was not answered, to the next leader. A write that ran here
  // unanswered after a read that was not answered either would be visible to that read there.
  it('starts nothing more of a connection once it closed', async () => {
    const db = new SlowReadLevel()
    const c = new WireClient(new LevelHost(db as unknown as AnyDb))
    c.send(Input.get, { id: 1, key: b('a') })
    c.send(Input.put, { id: 2, key: b('a'), value: b('new') })
    await until(() => db.reads === 1)
    // The put too must be taken (queued behind the read) before the connection closes, or
    // nothing would start it whatever the host does.
    await until(() => took(c))
    c.destroy()
    await until(() => c.closed)
    db.releaseReads()
    // The read is done: a put still queued behind it would start now.
    await until(() => db.readsDone === 1)
    expect(await steady(() => db.calls.length)).toBe(0)
    expect(c.received).toEqual([])
  })

  it('finish() answers what was taken and ignores what comes after', async () => {
    const db = new SlowReadLevel()
    const host = new LevelHost(db as unknown as AnyDb)
    const c = new WireClient(host)
    c.send(Input.get, { id: 1, key: b('a') })
    c.send(Input.put, { id: 2, key: b('a'), value: b('new') })
    await until(() => db.reads === 1)
    await until(() => took(c))
    let finished = false
    const finishing = host.finish().then(() => {
      finished = true
    })
    c.send(Input.put, { id: 3, key: b('b'), value: b('late') })
    // A connection made while finishing takes nothing either.
    const late = new WireClient(host)
    late.send(Input.put, { id: 1, key: b('c'), value: b('late') })
    // Both late requests reached the host (and were not taken); the read still holds finish().
    await until(() => took(c) && took(late))
    expect(finished).toBe(false)
    db.releaseReads()
    await finishing
    // Both taken requests were answered by the time finish() resolved.
    expect((await c.reply(1)).error).toBe('LEVEL_NOT_FOUND')
    expect((await c.reply(2)).error).toBeUndefined()
    expect(await steady(() => c.received.length)).toBe(2)
    expect(c.received.map((f) => (f.message as { id: number }).id)).toEqual([1, 2])
    expect(late.received).toEqual([])
    expect(db.calls).toEqual([1])
    expect(await db.get(b('b'))).toBeUndefined()
    expect(await db.get(b('c'))).toBeUndefined()
    c.destroy()
    late.destroy()
  })

  // A leader whose database must be reopened before writes can succeed stops taking them from
  // beforeWrite: the write waits, unanswered, for the guest to send it again.
  it('calls beforeWrite before it takes a write: a finish() called there ignores that write', async () => {
    const db = new MemoryBase({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
    let writes = 0
    const host: LevelHost = new LevelHost(db as AnyDb, {
      beforeWrite: () => {
        if (++writes === 2) void host.finish()
      }
    })
    const c = new WireClient(host)
    c.send(Input.get, { id: 1, key: b('a') })
    c.send(Input.put, { id: 2, key: b('a'), value: b('1') })
    expect((await c.reply(2)).error).toBeUndefined()
    expect(writes).toBe(1)
    c.send(Input.batch, { id: 3, ops: [{ type: 'put', key: b('b'), value: b('2') }] })
    await until(() => writes === 2)
    await host.finish()
    expect(c.received.map((f) => (f.message as { id: number }).id)).toEqual([1, 2])
    expect(await db.get(b('a'))).toEqual(b('1'))
    expect(await db.get(b('b'))).toBeUndefined()
    c.destroy()
  })

  it('rejects a beforeWrite that is not a function', () => {
    const db = new MemoryBase()
    expect(() => new LevelHost(db as AnyDb, { beforeWrite: 1 as never })).toThrow(TypeError)
  })
})
