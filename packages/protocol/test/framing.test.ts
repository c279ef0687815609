import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { encodeInput, FrameDecoder, firstFrame, Input, RpcStream, remoteError, wireCode } from '../dist/index.js'
// Internals, not part of the package's API: tested from the source.
import { unzigzag, varintLength, writeVarint, zigzag } from '../src/varint.js'

const frame = (n: number) => encodeInput(Input.get, { id: n, key: Buffer.from(`key-${n}`) })

describe('varint', () => {
  it('round-trips lengths and ids', () => {
    for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28, 0xffffffff, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const buf = Buffer.alloc(10)
      const end = writeVarint(buf, 0, v)
      expect(end).toBe(varintLength(v))
      const d = new FrameDecoder(() => {}, Number.MAX_SAFE_INTEGER)
      // A varint prefix announcing v bytes: the decoder waits for the body and buffers the prefix.
      if (v > 0) {
        d.push(buf.subarray(0, end))
        expect(d.buffered).toBe(end)
      }
    }
  })

  it('zigzags signed integers', () => {
    for (const v of [0, -1, 1, -2, 2 ** 31 - 1, -(2 ** 31)]) expect(unzigzag(zigzag(v))).toBe(v)
    expect(zigzag(-1)).toBe(1)
  })
})

describe('FrameDecoder', () => {
  it('splits frames however the bytes are chunked', () => {
    const frames = Array.from({ length: 50 }, (_, i) => frame(i))
    const all = Buffer.concat(frames)
    for (const size of [1, 2, 3, 7, 64, all.length]) {
      const got: Buffer[] = []
      const d = new FrameDecoder((f) => got.push(Buffer.from(f)))
      for (let i = 0; i < all.length; i += size) d.push(all.subarray(i, i + size))
      expect(got.length).toBe(frames.length)
      for (const [i, f] of got.entries()) {
        expect(Buffer.concat([Buffer.from([f.length]), f]).equals(frames[i] as Buffer)).toBe(true)
      }
      expect(d.buffered).toBe(0)
    }
  })

  it('delivers frames inside one chunk as views', () => {
    const chunk = Buffer.concat([frame(1), frame(2)])
    const got: Buffer[] = []
    new FrameDecoder((f) => got.push(f)).push(chunk)
    expect(got.every((f) => f.buffer === chunk.buffer)).toBe(true)
  })

  it('refuses an oversized frame from its prefix alone, before buffering the body', () => {
    const d = new FrameDecoder(() => {}, 1024)
    const prefix = Buffer.alloc(5)
    const end = writeVarint(prefix, 0, 1025)
    expect(() => d.push(prefix.subarray(0, end))).toThrow(expect.objectContaining({ code: 'LEVEL_FRAME_TOO_LARGE' }))
    expect(d.buffered).toBe(0)
    // The decoder stays failed
    expect(() => d.push(frame(1))).toThrow(expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' }))
  })

  it('refuses an absurd prefix', () => {
    const d = new FrameDecoder(() => {})
    expect(() => d.push(Buffer.alloc(12, 0xff))).toThrow(expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' }))
  })

  it('refuses an empty frame', () => {
    expect(() => new FrameDecoder(() => {}).push(Buffer.from([0]))).toThrow(
      expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' })
    )
  })

  it('validates maxFrameSize', () => {
    expect(() => new FrameDecoder(() => {}, 0)).toThrow(RangeError)
  })

  it('with onOversize, reports an oversized frame by its head and skips it without buffering', () => {
    const big = encodeInput(Input.get, { id: 300, key: Buffer.alloc(1500, 7) })
    const stream = Buffer.concat([frame(1), big, frame(2), big, frame(3)])
    // However the bytes are chunked, even inside the head or the prefix.
    for (const size of [1, 3, 7, 64, 4096, stream.length]) {
      const frames: number[] = []
      const heads: [Buffer, number][] = []
      const d = new FrameDecoder(
        (f) => frames.push(f[0] as number),
        1000,
        (head, length) => heads.push([head, length])
      )
      let buffered = 0
      for (let i = 0; i < stream.length; i += size) {
        d.push(stream.subarray(i, i + size))
        buffered = Math.max(buffered, d.buffered)
      }
      expect(buffered).toBeLessThan(1000)
      expect(frames).toEqual([Input.get, Input.get, Input.get])
      const body = big.subarray(varintLength(big.length - 2))
      expect(heads).toEqual([
        [body.subarray(0, 16), body.length],
        [body.subarray(0, 16), body.length]
      ])
    }
  })
})

describe('RpcStream', () => {
  it('writes every frame sent in one tick as one chunk', async () => {
    const rpc = new RpcStream({ onFrame: () => {} })
    const chunks: Buffer[] = []
    rpc.on('data', (c: Buffer) => chunks.push(c))
    const frames = Array.from({ length: 100 }, (_, i) => frame(i))
    for (const f of frames) rpc.send(f)
    await new Promise((r) => setImmediate(r))
    expect(chunks.length).toBe(1)
    expect((chunks[0] as Buffer).equals(Buffer.concat(frames))).toBe(true)
    rpc.send(frame(1))
    await new Promise((r) => setImmediate(r))
    expect(chunks.length).toBe(2)
    rpc.destroy()
  })

  it('delivers incoming frames and fails only itself on garbage', async () => {
    const got: Buffer[] = []
    const rpc = new RpcStream({ onFrame: (f) => got.push(f), maxFrameSize: 100 })
    rpc.write(Buffer.concat([frame(1), frame(2)]))
    expect(got.length).toBe(2)
    rpc.write(Buffer.from([0xff, 0xff, 0x7f]))
    const [err] = await once(rpc, 'error')
    expect(err).toMatchObject({ code: 'LEVEL_FRAME_TOO_LARGE' })
    expect(rpc.destroyed).toBe(true)
  })

  it('stops taking input while the peer does not read its output', async () => {
    const rpc = new RpcStream({ onFrame: () => rpc.send(Buffer.alloc(1024)), highWaterMark: 4096 })
    let accepted = 0
    let acceptedAll: () => void = () => {}
    const all = new Promise<void>((resolve) => {
      acceptedAll = resolve
    })
    const input = frame(1)
    // Nobody reads rpc's output: after the readable buffer fills, writes stop completing.
    for (let i = 0; i < 200; i++) {
      rpc.write(input, () => {
        if (++accepted === 200) acceptedAll()
      })
    }
    // Everything RpcStream does runs in process.nextTick or synchronously, and setImmediate runs
    // only once that queue is empty: whatever input it would take, it has taken by then.
    await new Promise((r) => setImmediate(r))
    expect(accepted).toBeLessThan(200)
    expect(rpc.readableLength).toBeGreaterThanOrEqual(4096)
    expect(rpc.readableLength).toBeLessThan(64 * 1024)
    // Reading resumes input.
    rpc.on('data', () => {})
    await all
    expect(accepted).toBe(200)
    rpc.destroy()
  })

  it('keeps taking input while its output is not read, with holdInput: false (a guest)', async () => {
    let got = 0
    const rpc = new RpcStream({
      onFrame: () => {
        got++
        rpc.send(Buffer.alloc(1024))
      },
      highWaterMark: 4096,
      holdInput: false
    })
    let accepted = 0
    for (let i = 0; i < 200; i++) rpc.write(frame(1), () => accepted++)
    await new Promise((r) => setImmediate(r))
    expect({ got, accepted }).toEqual({ got: 200, accepted: 200 })
    rpc.destroy()
  })

  it('reports an oversized incoming frame to onOversize and goes on', () => {
    const heads: number[] = []
    const got: number[] = []
    const rpc = new RpcStream({
      onFrame: (f) => got.push(f.length),
      maxFrameSize: 100,
      onOversize: (head) => heads.push(head[0] as number)
    })
    rpc.write(
      Buffer.concat([encodeInput(Input.put, { id: 1, key: Buffer.alloc(200), value: Buffer.alloc(1) }), frame(2)])
    )
    expect(heads).toEqual([Input.put])
    expect(got.length).toBe(1)
    expect(rpc.destroyed).toBe(false)
    rpc.destroy()
  })

  it('ends its readable side when the peer ends', async () => {
    const rpc = new RpcStream({ onFrame: () => {} })
    rpc.resume()
    rpc.end()
    await once(rpc, 'end')
  })
})

describe('error codes', () => {
  it('lets only LEVEL_* codes cross the wire', () => {
    expect(wireCode(undefined)).toBeUndefined()
    expect(wireCode(null)).toBeUndefined()
    expect(wireCode({ code: 'LEVEL_NOT_FOUND' })).toBe('LEVEL_NOT_FOUND')
    expect(wireCode(new Error('x'))).toBe('LEVEL_REMOTE_ERROR')
    expect(wireCode({ code: 'ENOENT' })).toBe('LEVEL_REMOTE_ERROR')
    expect(wireCode({ code: 'LEVEL_bad code\n' })).toBe('LEVEL_REMOTE_ERROR')
    expect(remoteError('EVIL')).toMatchObject({ code: 'LEVEL_REMOTE_ERROR' })
    expect(remoteError('LEVEL_LOCKED')).toMatchObject({ code: 'LEVEL_LOCKED' })
  })
})

describe('firstFrame', () => {
  it('splits the first frame from what follows, waits for the rest, and refuses what is not a frame', () => {
    const frame = encodeInput(Input.auth, { token: 'secret-token-0123456789' })
    const after = Buffer.from([1, 2, 3])
    const split = firstFrame(Buffer.concat([frame, after]), 4096)
    expect(split).toEqual({ body: frame.subarray(1), rest: after })
    expect(firstFrame(frame.subarray(0, 5), 4096)).toBe('partial')
    expect(firstFrame(Buffer.alloc(0), 4096)).toBe('partial')
    expect(firstFrame(Buffer.from([0x80]), 4096)).toBe('partial')
    expect(firstFrame(Buffer.from([0x00]), 4096)).toMatchObject({ code: 'LEVEL_PROTOCOL_ERROR' })
    expect(firstFrame(Buffer.from([0x80, 0x80, 0x01]), 4096)).toMatchObject({ code: 'LEVEL_FRAME_TOO_LARGE' })
    expect(firstFrame(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), 2 ** 40)).toMatchObject({
      code: 'LEVEL_PROTOCOL_ERROR'
    })
  })
})
