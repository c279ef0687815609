/**
 * @packageDocumentation
 * `WatchChanges` frames on their hot path: a host sends every change of every commit to every
 * watch, and a guest decodes all of them. The generic table-driven codec does this correctly
 * but slowly (it measures each nested message twice, and builds an object per field), so
 * these functions write and read the same bytes directly. The encoding is the schema's
 * (`WatchChanges { id = 1; repeated Change changes = 2 }`, `Change { type = 1; key = 2;
 * value = 3 }`), and what they decode is exactly what `readMessage` would: a test compares
 * both on random and broken input.
 *
 * A host encodes a commit's changes once as *entries* (the bytes of field 2, for any number of
 * changes) and makes the frame of each watch from them with {@link watchChangesFrame}, which
 * only adds the id.
 */

import { mustRead, skip } from './codec.js'
import { protocolError } from './errors.js'
import { Output } from './tags.js'
import { cursor, varintLength, writeVarint } from './varint.js'

/** Field 2 of `WatchChanges` (a nested message): its key byte. */
const CHANGE_FIELD = (2 << 3) | 2
/** Field 1 of `WatchChanges` (the id, a varint). */
const ID_FIELD = 1 << 3
const TYPE_FIELD = (1 << 3) | 2
const KEY_FIELD = (2 << 3) | 2
const VALUE_FIELD = (3 << 3) | 2
/** `type` is `'put'` or `'del'`: 3 bytes, after its key byte and length. */
const TYPE_BYTES = 2 + 3
const PUT = Buffer.from('put')
const DEL = Buffer.from('del')

/** Bytes of a `Change` message (without its own key byte and length). */
function changeLength(key: Uint8Array | undefined, value: Uint8Array | undefined): number {
  let n = TYPE_BYTES
  if (key !== undefined) n += 1 + varintLength(key.byteLength) + key.byteLength
  if (value !== undefined) n += 1 + varintLength(value.byteLength) + value.byteLength
  return n
}

/**
 * Bytes the entry of one change takes in a `WatchChanges` message: what
 * {@link writeWatchChangeEntry} writes. `key` and `value` as they will be sent (undefined when
 * the watch does not send them).
 */
export function watchChangeEntryLength(key: Uint8Array | undefined, value: Uint8Array | undefined): number {
  const n = changeLength(key, value)
  return 1 + varintLength(n) + n
}

/** Write the entry of one change at `o` of `buf`; returns the offset after it. */
export function writeWatchChangeEntry(
  buf: Buffer,
  o: number,
  type: 'put' | 'del',
  key: Uint8Array | undefined,
  value: Uint8Array | undefined
): number {
  buf[o++] = CHANGE_FIELD
  o = writeVarint(buf, o, changeLength(key, value))
  buf[o++] = TYPE_FIELD
  buf[o++] = 3
  buf.set(type === 'put' ? PUT : DEL, o)
  o += 3
  if (key !== undefined) {
    buf[o++] = KEY_FIELD
    o = writeVarint(buf, o, key.byteLength)
    buf.set(key, o)
    o += key.byteLength
  }
  if (value !== undefined) {
    buf[o++] = VALUE_FIELD
    o = writeVarint(buf, o, value.byteLength)
    buf.set(value, o)
    o += value.byteLength
  }
  return o
}

/**
 * Length of the complete frame (prefix, tag, message) of a `WatchChanges` for watch `id` whose
 * entries take `entries` bytes.
 */
export function watchChangesFrameLength(id: number, entries: number): number {
  const body = 2 + varintLength(id) + entries
  return varintLength(body) + body
}

/**
 * The start of the `WatchChanges` frame for watch `id` whose entries take `entries` bytes: its
 * prefix, tag and id. The frame is this followed by the entries (written with
 * {@link writeWatchChangeEntry}, back to back), so a host can send the entries it shares
 * between watches without copying them into each watch's frame.
 */
export function watchChangesHead(id: number, entries: number): Buffer {
  const body = 2 + varintLength(id) + entries
  const buf = Buffer.allocUnsafe(varintLength(body) + body - entries)
  let o = writeVarint(buf, 0, body)
  buf[o++] = Output.watchChanges
  buf[o++] = ID_FIELD
  writeVarint(buf, o, id)
  return buf
}

/** The complete `WatchChanges` frame for watch `id` whose changes are `entries`: what `encodeOutput` makes of it. */
export function watchChangesFrame(id: number, entries: Uint8Array): Buffer {
  const head = watchChangesHead(id, entries.byteLength)
  const buf = Buffer.allocUnsafe(head.length + entries.byteLength)
  head.copy(buf)
  buf.set(entries, head.length)
  return buf
}

/**
 * A change of a `WatchChanges` frame as where its parts lie, without a view made of them: its
 * key is `keyIn[keyStart, keyEnd)` (`keyIn` undefined when it has none), its value likewise. A
 * guest that decodes every change of a busy feed makes the key and value it yields straight
 * from these, without a view of either.
 */
export interface WatchChangeAt {
  readonly type: string
  readonly keyIn: Uint8Array | undefined
  readonly keyStart: number
  readonly keyEnd: number
  readonly valueIn: Uint8Array | undefined
  readonly valueStart: number
  readonly valueEnd: number
}

/**
 * Decode the message of a `WatchChanges` frame, `buf[start, end)` (after the tag byte), as
 * {@link WatchChangeAt}s (`keyIn` and `valueIn` are `buf`). Accepts and rejects exactly what
 * `readMessage` with its schema does: throws `LEVEL_PROTOCOL_ERROR`, skips unknown fields.
 */
export function readWatchChangesAt(buf: Buffer, start: number, end: number): { id: number; changes: WatchChangeAt[] } {
  const changes: WatchChangeAt[] = []
  let id: number | undefined
  let o = start
  while (o < end) {
    const key = mustRead(buf, o, end)
    o = cursor.offset
    if (key === CHANGE_FIELD) {
      const n = mustRead(buf, o, end)
      const from = cursor.offset
      const to = from + n
      if (to > end) throw protocolError('Truncated WatchChanges.changes')
      changes.push(readChange(buf, from, to))
      o = to
    } else if (key === ID_FIELD) {
      id = mustRead(buf, o, end)
      o = cursor.offset
    } else if (key >= 8 && key < 24) {
      throw protocolError(`Wrong wire type for WatchChanges.${key < 16 ? 'id' : 'changes'}`)
    } else {
      o = skip(buf, o, end, key % 8)
    }
  }
  if (o !== end) throw protocolError('Truncated WatchChanges')
  if (id === undefined) throw protocolError('WatchChanges.id is required')
  return { id, changes }
}

function readChange(buf: Buffer, start: number, end: number): WatchChangeAt {
  let type: string | undefined
  let keyStart = -1
  let keyEnd = -1
  let valueStart = -1
  let valueEnd = -1
  let o = start
  while (o < end) {
    const tag = mustRead(buf, o, end)
    o = cursor.offset
    if (tag < 8 || tag >= 32) {
      o = skip(buf, o, end, tag % 8)
      continue
    }
    const no = tag >>> 3
    const name = no === 1 ? 'type' : no === 2 ? 'key' : 'value'
    if ((tag & 7) !== 2) throw protocolError(`Wrong wire type for WatchChanges.Change.${name}`)
    const n = mustRead(buf, o, end)
    const from = cursor.offset
    const to = from + n
    if (to > end) throw protocolError(`Truncated WatchChanges.Change.${name}`)
    if (no === 1) type = typeOf(buf, from, to)
    else if (no === 2) {
      keyStart = from
      keyEnd = to
    } else {
      valueStart = from
      valueEnd = to
    }
    o = to
  }
  if (o !== end) throw protocolError('Truncated WatchChanges.Change')
  if (type === undefined) throw protocolError('WatchChanges.Change.type is required')
  return {
    type,
    keyIn: keyStart === -1 ? undefined : buf,
    keyStart,
    keyEnd,
    valueIn: valueStart === -1 ? undefined : buf,
    valueStart,
    valueEnd
  }
}

function typeOf(buf: Buffer, from: number, to: number): string {
  if (to - from === 3) {
    const a = buf[from]
    if (a === 0x70 && buf[from + 1] === 0x75 && buf[from + 2] === 0x74) return 'put'
    if (a === 0x64 && buf[from + 1] === 0x65 && buf[from + 2] === 0x6c) return 'del'
  }
  return buf.toString('utf8', from, to)
}
