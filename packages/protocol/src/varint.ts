import { protocolError } from './errors.js'

/** Bytes needed for `value` as an unsigned LEB128 varint. `value` is a non-negative safe integer. */
export function varintLength(value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  let n = 4
  value = Math.floor(value / 0x10000000)
  while (value > 0) {
    n++
    value = Math.floor(value / 0x80)
  }
  return n
}

/** Write `value` at `offset`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    buf[offset++] = (value & 0x7f) | 0x80
    value = value >= 0x80000000 ? Math.floor(value / 0x80) : value >>> 7
  }
  buf[offset++] = value
  return offset
}

/**
 * Result of the last {@link readVarint} call: the offset after the varint. A module-level cell
 * instead of a returned object keeps the hot decode path free of allocations.
 */
export const cursor = { offset: 0 }

/**
 * Read an unsigned varint at `offset`, bounded by `end`. Returns `-1` when the buffer ends
 * before the varint does (the caller may wait for more bytes); throws `LEVEL_PROTOCOL_ERROR`
 * when it is longer than 10 bytes or exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function readVarint(buf: Uint8Array, offset: number, end: number): number {
  let value = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (offset >= end) return -1
    const byte = buf[offset++] as number
    value += (byte & 0x7f) * scale
    if (byte < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) throw protocolError('Varint exceeds the safe integer range')
      cursor.offset = offset
      return value
    }
    scale *= 0x80
  }
  throw protocolError('Varint is longer than 10 bytes')
}

/** Zigzag-encode a signed integer (protobuf `sint32`/`sint64`). */
export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1
}

/** Inverse of {@link zigzag}. */
export function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2
}
