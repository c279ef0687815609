import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeOutput,
  encodeOutput,
  Output,
  outputFrameLength,
  readWatchChangesAt,
  watchChangeEntryLength,
  watchChangesFrame,
  watchChangesFrameLength,
  watchChangesHead,
  writeWatchChangeEntry
} from '../dist/index.js'
// The table-driven codec is internal: this test compares the direct encoder against it.
import { readMessage } from '../src/codec.js'
import { schemas } from '../src/messages.js'

// The direct encoder and decoder of WatchChanges frames against the table-driven codec, which
// the rest of the protocol (and its many-level 2 comparison) already tests.

const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))
const change = fc.record(
  { type: fc.constantFrom('put' as const, 'del' as const), key: bytes, value: bytes },
  { requiredKeys: ['type'] }
)
const message = fc.record({ id: fc.nat({ max: 0xffffffff }), changes: fc.array(change, { maxLength: 20 }) })

function entriesOf(changes: { type: 'put' | 'del'; key?: Buffer; value?: Buffer }[]): Buffer {
  const length = changes.reduce((n, c) => n + watchChangeEntryLength(c.key, c.value), 0)
  const buf = Buffer.alloc(length)
  let o = 0
  for (const c of changes) o = writeWatchChangeEntry(buf, o, c.type, c.key, c.value)
  expect(o).toBe(length)
  return buf
}

/** What the table-driven codec makes of `body` (a frame without its prefix), or its error. */
function generic(body: Buffer): unknown {
  try {
    return readMessage(body, 1, body.length, schemas.WatchChanges)
  } catch (err) {
    return { error: (err as Error).message, code: (err as { code?: string }).code }
  }
}

/** What the direct decoder finds in `body`, with its offsets made into views as readMessage has them. */
function direct(body: Buffer): unknown {
  try {
    const { id, changes } = readWatchChangesAt(body, 1, body.length)
    return {
      changes: changes.map((at) => {
        const change: Record<string, unknown> = { type: at.type }
        if (at.keyIn !== undefined) change.key = at.keyIn.subarray(at.keyStart, at.keyEnd)
        if (at.valueIn !== undefined) change.value = at.valueIn.subarray(at.valueStart, at.valueEnd)
        return change
      }),
      id
    }
  } catch (err) {
    return { error: (err as Error).message, code: (err as { code?: string }).code }
  }
}

const unframe = (frame: Buffer) => frame.subarray(prefixLength(frame))
function prefixLength(frame: Buffer): number {
  let n = 0
  while ((frame[n] as number) & 0x80) n++
  return n + 1
}

describe('WatchChanges frames', () => {
  it('are encoded as encodeOutput encodes them', () => {
    fc.assert(
      fc.property(message, ({ id, changes }) => {
        const entries = entriesOf(changes)
        const frame = watchChangesFrame(id, entries)
        expect(frame).toEqual(encodeOutput(Output.watchChanges, { id, changes }))
        expect(Buffer.concat([watchChangesHead(id, entries.length), entries])).toEqual(frame)
        expect(watchChangesFrameLength(id, entries.length)).toBe(frame.length)
        expect(outputFrameLength(Output.watchChanges, { id, changes })).toBe(frame.length)
      }),
      { numRuns: 500 }
    )
  })

  it('are decoded as the generic codec decodes them', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const body = unframe(encodeOutput(Output.watchChanges, msg))
        expect(direct(body)).toEqual(generic(body))
        expect(decodeOutput(body)).toEqual({ tag: Output.watchChanges, message: msg })
      }),
      { numRuns: 500 }
    )
  })

  it('reject or skip broken and unknown input exactly as the generic codec does', () => {
    const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() })
    fc.assert(
      fc.property(message, fc.array(edit, { minLength: 1, maxLength: 4 }), (msg, edits) => {
        let body = Buffer.from(unframe(encodeOutput(Output.watchChanges, msg)))
        for (const { at, byte, cut } of edits) {
          const i = 1 + (at % Math.max(1, body.length - 1))
          if (cut) body = body.subarray(0, i)
          else if (i < body.length) body[i] = byte
        }
        expect(direct(body)).toEqual(generic(body))
      }),
      { numRuns: 3000 }
    )
    // Random bytes after the tag, and fields the schema does not know (skipped).
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (rest) => {
        const body = Buffer.concat([Buffer.from([Output.watchChanges]), rest])
        expect(direct(body)).toEqual(generic(body))
      }),
      { numRuns: 3000 }
    )
    const unknown = Buffer.from([
      Output.watchChanges,
      0x08,
      7,
      0x20,
      5,
      0x12,
      12,
      0x0a,
      3,
      0x70,
      0x75,
      0x74,
      0x28,
      1,
      0x35,
      1,
      2,
      3,
      4
    ])
    expect(direct(unknown)).toEqual({ id: 7, changes: [{ type: 'put' }] })
    expect(direct(unknown)).toEqual(generic(unknown))
  })
})
