import { type KeyRange, keyRange, narrow, type RangeOptions, rangeBounds } from '@rave-level/protocol'

/** Every database call of the host works on raw bytes. */
export const ENCODINGS = Object.freeze({ keyEncoding: 'buffer', valueEncoding: 'buffer' } as const)

/** Options of a database iterator or `clear()` call, built from wire range options. */
export interface DbRangeOptions extends RangeOptions {
  reverse: boolean
  limit: number
  keyEncoding: 'buffer'
  valueEncoding: 'buffer'
}

/**
 * The range of wire options, narrowed to start after `bookmark` (the last key a previous
 * iterator yielded, sent by a guest that resumes after a reconnect) when there is one.
 */
export function wireRange(wire: RangeOptions | undefined, bookmark?: Uint8Array): KeyRange {
  const range = keyRange(wire ?? {})
  return bookmark === undefined ? range : narrow(range, wire?.reverse === true, bookmark, false)
}

/**
 * Database options for `range`: only present bounds are set (abstract-level treats a
 * present-but-`undefined` bound as a bound, and an empty buffer is a real one). An absent or
 * negative `limit` means no limit (`-1`).
 */
export function dbRangeOptions(range: KeyRange, wire: RangeOptions | undefined): DbRangeOptions {
  const limit = wire?.limit
  return {
    ...rangeBounds(range),
    reverse: wire?.reverse === true,
    limit: limit !== undefined && limit >= 0 ? limit : -1,
    ...ENCODINGS
  }
}
