import { protocolError } from './errors.js'
import { cursor, readVarint, unzigzag, varintLength, writeVarint, zigzag } from './varint.js'

/**
 * A tiny proto2 codec driven by field tables. It covers exactly what the many-level schema
 * uses: varint (`uint32`, `sint32`/`sint64`, `bool`), `bytes`, `string` and nested messages,
 * optional, required and repeated. Decoded `bytes` are views into the frame (no copy). A
 * `bytes` field may be given a string to encode: its UTF-8 bytes (a host that read text from
 * its database sends it without making a buffer of it first).
 */
export type FieldType = 'uint' | 'sint' | 'bool' | 'bytes' | 'string' | Schema

/** One field of a message. */
export interface Field {
  readonly no: number
  readonly name: string
  readonly type: FieldType
  readonly repeated?: boolean
  readonly required?: boolean
}

/** A message's field table, indexed for decoding. */
export interface Schema {
  readonly name: string
  readonly fields: readonly Field[]
  readonly byNumber: readonly (Field | undefined)[]
  readonly required: readonly Field[]
}

/** Build a {@link Schema} from its fields. */
export function schema(name: string, fields: Field[]): Schema {
  const byNumber: (Field | undefined)[] = []
  for (const f of fields) byNumber[f.no] = f
  return { name, fields, byNumber, required: fields.filter((f) => f.required) }
}

const WIRE_VARINT = 0
const WIRE_FIXED64 = 1
const WIRE_BYTES = 2
const WIRE_FIXED32 = 5

function wireType(type: FieldType): number {
  return type === 'uint' || type === 'sint' || type === 'bool' ? WIRE_VARINT : WIRE_BYTES
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null
}

function valueLength(type: FieldType, v: any): number {
  switch (type) {
    case 'uint':
      return varintLength(v)
    case 'sint':
      return varintLength(zigzag(v))
    case 'bool':
      return 1
    case 'bytes': {
      const n = typeof v === 'string' ? Buffer.byteLength(v) : (v as Uint8Array).byteLength
      return varintLength(n) + n
    }
    case 'string': {
      const n = Buffer.byteLength(v as string)
      return varintLength(n) + n
    }
    default: {
      const n = messageLength(type, v)
      return varintLength(n) + n
    }
  }
}

/** Encoded length of `msg` (without tag byte or frame prefix). */
export function messageLength(s: Schema, msg: any): number {
  let len = 0
  for (const f of s.fields) {
    const v = msg[f.name]
    if (!present(v)) {
      if (f.required) throw new TypeError(`${s.name}.${f.name} is required`)
      continue
    }
    const key = varintLength(f.no * 8)
    if (f.repeated) {
      for (const item of v as unknown[]) {
        if (present(item)) len += key + valueLength(f.type, item)
      }
    } else {
      len += key + valueLength(f.type, v)
    }
  }
  return len
}

function writeValue(buf: Buffer, o: number, type: FieldType, v: any): number {
  switch (type) {
    case 'uint':
      return writeVarint(buf, o, v)
    case 'sint':
      return writeVarint(buf, o, zigzag(v))
    case 'bool':
      buf[o] = v ? 1 : 0
      return o + 1
    case 'bytes': {
      if (typeof v === 'string') return writeString(buf, o, v)
      const b = v as Uint8Array
      o = writeVarint(buf, o, b.byteLength)
      buf.set(b, o)
      return o + b.byteLength
    }
    case 'string':
      return writeString(buf, o, v as string)
    default:
      o = writeVarint(buf, o, messageLength(type, v))
      return writeMessage(buf, o, type, v)
  }
}

function writeString(buf: Buffer, o: number, v: string): number {
  const n = Buffer.byteLength(v)
  o = writeVarint(buf, o, n)
  buf.write(v, o, n, 'utf8')
  return o + n
}

/** Write `msg` at offset `o`; returns the offset after it. */
export function writeMessage(buf: Buffer, o: number, s: Schema, msg: any): number {
  for (const f of s.fields) {
    const v = msg[f.name]
    if (!present(v)) continue
    const key = f.no * 8 + wireType(f.type)
    if (f.repeated) {
      for (const item of v as unknown[]) {
        if (!present(item)) continue
        o = writeVarint(buf, o, key)
        o = writeValue(buf, o, f.type, item)
      }
    } else {
      o = writeVarint(buf, o, key)
      o = writeValue(buf, o, f.type, v)
    }
  }
  return o
}

/** Read a varint at `o` (the offset after it in `cursor`); throws `LEVEL_PROTOCOL_ERROR` if truncated. */
export function mustRead(buf: Buffer, o: number, end: number): number {
  const v = readVarint(buf, o, end)
  if (v === -1) throw protocolError('Truncated varint')
  return v
}

/**
 * Decode a message from `buf[start, end)`. Throws `LEVEL_PROTOCOL_ERROR` on anything that is
 * not a valid encoding of `s`: truncation, wrong wire types, missing required fields, groups.
 * Unknown fields are skipped, as proto2 requires.
 */
export function readMessage(buf: Buffer, start: number, end: number, s: Schema): any {
  const msg: any = {}
  for (const f of s.fields) if (f.repeated) msg[f.name] = []
  let o = start
  while (o < end) {
    const key = mustRead(buf, o, end)
    o = cursor.offset
    const no = Math.floor(key / 8)
    const wt = key % 8
    const f = s.byNumber[no]
    if (f === undefined) {
      o = skip(buf, o, end, wt)
      continue
    }
    if (wt !== wireType(f.type)) throw protocolError(`Wrong wire type for ${s.name}.${f.name}`)
    let v: unknown
    if (wt === WIRE_VARINT) {
      const n = mustRead(buf, o, end)
      o = cursor.offset
      v = f.type === 'uint' ? n : f.type === 'sint' ? unzigzag(n) : n !== 0
    } else {
      const n = mustRead(buf, o, end)
      const from = cursor.offset
      const to = from + n
      if (to > end) throw protocolError(`Truncated ${s.name}.${f.name}`)
      if (f.type === 'bytes') v = buf.subarray(from, to)
      else if (f.type === 'string') v = buf.toString('utf8', from, to)
      else v = readMessage(buf, from, to, f.type as Schema)
      o = to
    }
    if (f.repeated) msg[f.name].push(v)
    else msg[f.name] = v
  }
  if (o !== end) throw protocolError(`Truncated ${s.name}`)
  for (const f of s.required) {
    if (msg[f.name] === undefined) throw protocolError(`${s.name}.${f.name} is required`)
  }
  return msg
}

/** Skip an unknown field of wire type `wt` at `o`, as proto2 requires; returns the offset after it. */
export function skip(buf: Buffer, o: number, end: number, wt: number): number {
  switch (wt) {
    case WIRE_VARINT:
      mustRead(buf, o, end)
      return cursor.offset
    case WIRE_FIXED64:
      o += 8
      break
    case WIRE_BYTES: {
      const n = mustRead(buf, o, end)
      o = cursor.offset + n
      break
    }
    case WIRE_FIXED32:
      o += 4
      break
    default:
      throw protocolError(`Unsupported wire type ${wt}`)
  }
  if (o > end) throw protocolError('Truncated unknown field')
  return o
}
