import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { codes, decodeInput, decodeOutput, encodeInput, encodeOutput, Input, Output } from '../dist/index.js'

// many-level 2.0.0's generated codec is the reference implementation of the schema.
const require = createRequire(import.meta.url)
const reference = require('many-level/messages.js')
const tags = require('many-level/tags.js')

const b = (s: string) => Buffer.from(s)

const inputs: [number, string, any][] = [
  [Input.get, 'Get', { id: 1, key: b('k') }],
  [Input.put, 'Put', { id: 2, key: b('k'), value: b('v') }],
  [Input.put, 'Put', { id: 3, key: b(''), value: b('') }],
  [Input.del, 'Delete', { id: 0xffffffff, key: b('\u00ff\u0000') }],
  [
    Input.batch,
    'Batch',
    {
      id: 4,
      ops: [
        { type: 'put', key: b('a'), value: b('1') },
        { type: 'del', key: b('b') }
      ]
    }
  ],
  [Input.batch, 'Batch', { id: 5, ops: [] }],
  [Input.clear, 'Clear', { id: 6, options: { gt: b('a'), lte: b('z'), limit: -1, reverse: true } }],
  [Input.clear, 'Clear', { id: 7, options: { limit: 12345 } }],
  [
    Input.iterator,
    'Iterator',
    {
      id: 8,
      seq: 3,
      options: { keys: true, values: false, gte: b('a'), lt: b('b'), limit: 10, reverse: false },
      consumed: 2,
      bookmark: b('ab')
    }
  ],
  [Input.iterator, 'Iterator', { id: 9, seq: 0, options: {}, consumed: 0, seek: b('x') }],
  [Input.getMany, 'GetMany', { id: 10, keys: [b('a'), b(''), b('c')] }],
  [Input.iteratorClose, 'IteratorClose', { id: 11 }],
  [Input.iteratorAck, 'IteratorAck', { id: 12, seq: 1, consumed: 300 }],
  [Input.iteratorSeek, 'IteratorSeek', { id: 13, seq: 4, target: b('t') }]
]

const outputs: [number, string, any][] = [
  [Output.callback, 'Callback', { id: 1 }],
  [Output.callback, 'Callback', { id: 2, value: b('value') }],
  [Output.callback, 'Callback', { id: 3, error: 'LEVEL_NOT_FOUND' }],
  [Output.iteratorData, 'IteratorData', { id: 4, seq: 2, data: [b('k1'), b('v1'), b('k2'), b('')] }],
  [Output.getManyCallback, 'GetManyCallback', { id: 5, values: [{ value: b('x') }, {}, { value: b('') }] }],
  [Output.getManyCallback, 'GetManyCallback', { id: 6, error: 'LEVEL_REMOTE_ERROR', values: [] }],
  [Output.iteratorError, 'IteratorError', { id: 7, seq: 1, error: 'LEVEL_ITERATOR_NOT_OPEN' }],
  [Output.iteratorEnd, 'IteratorEnd', { id: 8, seq: 9 }]
]

function unframe(frame: Buffer): Buffer {
  let i = 0
  while ((frame[i] as number) & 0x80) i++
  return frame.subarray(i + 1)
}

function refEncode(tag: number, name: string, msg: any): Buffer {
  const enc = reference[name]
  const buf = Buffer.alloc(enc.encodingLength(msg) + 1)
  buf[0] = tag
  enc.encode(msg, buf, 1)
  return buf
}

// The reference decoder fills proto2 defaults ('' for strings, 0 for numbers) for absent
// optional fields; compare without them.
function normalize(v: any): any {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  if (Array.isArray(v)) return v.map(normalize)
  if (v && typeof v === 'object') {
    const o: any = {}
    for (const [k, x] of Object.entries(v))
      if (x !== undefined && x !== null && x !== false && x !== '' && x !== 0 && !(Array.isArray(x) && x.length === 0))
        o[k] = normalize(x)
    return o
  }
  return v
}

describe('codec interop with many-level 2.0.0', () => {
  it('defines every code that crosses the wire, once', () => {
    expect(codes).toEqual({
      PROTOCOL_ERROR: 'LEVEL_PROTOCOL_ERROR',
      FRAME_TOO_LARGE: 'LEVEL_FRAME_TOO_LARGE',
      REMOTE_ERROR: 'LEVEL_REMOTE_ERROR',
      NOT_FOUND: 'LEVEL_NOT_FOUND',
      READONLY: 'LEVEL_READONLY',
      INVALID_VALUE: 'LEVEL_INVALID_VALUE',
      TOO_MANY_ITERATORS: 'LEVEL_TOO_MANY_ITERATORS',
      TOO_MANY_WATCHES: 'LEVEL_TOO_MANY_WATCHES',
      AUTH_FAILED: 'LEVEL_AUTH_FAILED'
    })
  })

  it('uses the same tags, and extension tags that many-level 2 does not know', () => {
    const inputExtensions = [
      'hello',
      'snapshot',
      'snapshotClose',
      'call',
      'watch',
      'watchClose',
      'auth',
      'cacheLease',
      'cacheAck'
    ] as const
    const outputExtensions = [
      'hello',
      'heartbeat',
      'getManyPart',
      'watchChanges',
      'watchGap',
      'authResult',
      'cacheGrant',
      'cacheInvalidate'
    ] as const
    const without = (all: Record<string, number>, names: readonly string[]) =>
      Object.fromEntries(Object.entries(all).filter(([name]) => !names.includes(name)))
    expect(tags.input).toMatchObject(without(Input, inputExtensions))
    expect(tags.output).toMatchObject(without(Output, outputExtensions))
    for (const name of inputExtensions) expect(tags.input.encoding(Input[name])).toBeFalsy()
    for (const name of outputExtensions) expect(tags.output.encoding(Output[name])).toBeFalsy()
  })

  it('adds fields that many-level 2 skips: sync on writes, message on errors', () => {
    const put = unframe(encodeInput(Input.put, { id: 1, key: b('k'), value: b('v'), sync: true }))
    expect(normalize(reference.Put.decode(put, 1))).toEqual(normalize({ id: 1, key: b('k'), value: b('v') }))
    expect(decodeInput(put)).toEqual({ tag: Input.put, message: { id: 1, key: b('k'), value: b('v'), sync: true } })
    const reply = unframe(encodeOutput(Output.callback, { id: 2, error: 'LEVEL_IO_ERROR', message: 'No space left' }))
    expect(normalize(reference.Callback.decode(reply, 1))).toEqual(normalize({ id: 2, error: 'LEVEL_IO_ERROR' }))
    expect(decodeOutput(reply).message).toEqual({ id: 2, error: 'LEVEL_IO_ERROR', message: 'No space left' })
  })

  it('encodes and decodes Auth and AuthResult', () => {
    for (const message of [{ token: 'secret-token-0123456789' }, {}]) {
      expect(decodeInput(unframe(encodeInput(Input.auth, message)))).toEqual({ tag: Input.auth, message })
    }
    for (const message of [{ access: 'readonly' }, { error: 'LEVEL_AUTH_FAILED', message: 'Invalid token' }]) {
      expect(decodeOutput(unframe(encodeOutput(Output.authResult, message)))).toEqual({
        tag: Output.authResult,
        message
      })
    }
  })

  it('encodes and decodes the extension messages', () => {
    const hello = { version: 1, features: ['heartbeat', 'x'], maxFrameSize: 1024, heartbeat: 500, pid: 42 }
    expect(decodeInput(unframe(encodeInput(Input.hello, hello)))).toEqual({ tag: Input.hello, message: hello })
    expect(decodeOutput(unframe(encodeOutput(Output.hello, { version: 1, features: [] })))).toEqual({
      tag: Output.hello,
      message: { version: 1, features: [] }
    })
    expect(encodeOutput(Output.heartbeat, {})).toEqual(Buffer.from([1, Output.heartbeat]))
    const watch = { id: 3, watch: 7, gte: b('a'), lt: b('b'), keys: true, values: false }
    expect(decodeInput(unframe(encodeInput(Input.watch, watch)))).toEqual({ tag: Input.watch, message: watch })
    const close = { id: 4, watch: 7 }
    expect(decodeInput(unframe(encodeInput(Input.watchClose, close)))).toEqual({
      tag: Input.watchClose,
      message: close
    })
    const changes = {
      id: 7,
      changes: [
        { type: 'put', key: b('k'), value: b('') },
        { type: 'del', key: b('') },
        { type: 'put', key: b('x') }
      ]
    }
    expect(decodeOutput(unframe(encodeOutput(Output.watchChanges, changes)))).toEqual({
      tag: Output.watchChanges,
      message: changes
    })
    expect(decodeOutput(unframe(encodeOutput(Output.watchGap, { id: 7 })))).toEqual({
      tag: Output.watchGap,
      message: { id: 7 }
    })
    expect(decodeOutput(Buffer.from([Output.heartbeat]))).toEqual({ tag: Output.heartbeat, message: {} })
  })

  for (const [tag, name, msg] of inputs) {
    it(`input ${name} ${JSON.stringify(normalize(msg))}`, () => {
      const body = unframe(encodeInput(tag as any, msg))
      expect(body[0]).toBe(tag)
      // Ours → reference decoder
      expect(normalize(reference[name].decode(body, 1))).toEqual(normalize(msg))
      // Reference encoder → ours
      const decoded = decodeInput(refEncode(tag, name, msg))
      expect(decoded.tag).toBe(tag)
      expect(normalize(decoded.message)).toEqual(normalize(msg))
      // Byte-identical encoding
      expect(body.equals(refEncode(tag, name, msg))).toBe(true)
    })
  }

  for (const [tag, name, msg] of outputs) {
    it(`output ${name} ${JSON.stringify(normalize(msg))}`, () => {
      const body = unframe(encodeOutput(tag as any, msg))
      expect(normalize(reference[name].decode(body, 1))).toEqual(normalize(msg))
      const decoded = decodeOutput(refEncode(tag, name, msg))
      expect(decoded.tag).toBe(tag)
      expect(normalize(decoded.message)).toEqual(normalize(msg))
      expect(body.equals(refEncode(tag, name, msg))).toBe(true)
    })
  }
})

describe('codec validation', () => {
  it('rejects unknown tags', () => {
    expect(() => decodeInput(Buffer.from([42]))).toThrow(expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' }))
    expect(() => decodeOutput(Buffer.from([5]))).toThrow(expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' }))
  })

  it('rejects an empty frame', () => {
    expect(() => decodeInput(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' }))
  })

  it('rejects missing required fields', () => {
    // A Get with only an id
    expect(() => decodeInput(Buffer.from([Input.get, 0x08, 0x01]))).toThrow(
      expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' })
    )
  })

  it('rejects truncated length-delimited fields', () => {
    expect(() => decodeInput(Buffer.from([Input.get, 0x08, 0x01, 0x12, 0x05, 0x61]))).toThrow(
      expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' })
    )
  })

  it('rejects wrong wire types and groups', () => {
    expect(() => decodeInput(Buffer.from([Input.get, 0x0a, 0x00]))).toThrow(
      expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' })
    )
    expect(() => decodeInput(Buffer.from([Input.get, 0x08, 0x01, 0x1b]))).toThrow(
      expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' })
    )
  })

  it('rejects overlong varints', () => {
    const frame = Buffer.from([Input.get, 0x08, ...new Array(11).fill(0xff)])
    expect(() => decodeInput(frame)).toThrow(expect.objectContaining({ code: 'LEVEL_PROTOCOL_ERROR' }))
  })

  it('skips unknown fields', () => {
    // Get{id:1,key:'a'} + unknown field 13 (varint) + unknown field 12 (bytes)
    const frame = Buffer.from([Input.get, 0x08, 0x01, 0x12, 0x01, 0x61, 0x68, 0x05, 0x62, 0x01, 0x00])
    const { message } = decodeInput(frame) as any
    expect(message.id).toBe(1)
    expect(Buffer.from(message.key).toString()).toBe('a')
  })

  it('decodes bytes as views without copying', () => {
    const frame = unframe(encodeOutput(Output.callback, { id: 1, value: Buffer.from('hello') }))
    const { message } = decodeOutput(frame) as any
    expect(message.value.buffer).toBe(frame.buffer)
  })

  it('throws TypeError when a required field is missing on encode', () => {
    expect(() => encodeInput(Input.get, { id: 1 } as any)).toThrow(TypeError)
  })
})
