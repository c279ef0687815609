import type { RangeOptions } from '@rave-level/protocol'

/** Every database call of the host works on raw bytes. */
export const ENCODINGS = Object.freeze({ keyEncoding: 'buffer', valueEncoding: 'buffer' } as const)

const NONE: RangeOptions = Object.freeze({})

/** Options of a database call built from wire range options. Absent bounds are absent keys. */
export interface DbRangeOptions {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  reverse: boolean
  limit: number
  keyEncoding: 'buffer'
  valueEncoding: 'buffer'
}

/**
 * Translate wire range options into database options. Only present bounds are copied:
 * abstract-level treats a present-but-`undefined` bound as a bound (it encodes it), and an
 * empty buffer is a real bound. An absent or negative `limit` means no limit (`-1`).
 *
 * With `bookmark` (the last key a previous iterator yielded, sent by a guest that resumes after
 * a reconnect) the range is narrowed to what comes after it in the iteration direction:
 * forward, `gt = bookmark` replaces `gt`/`gte`; in reverse, `lt = bookmark` replaces `lt`/`lte`.
 * This is exact for keys of any length, unlike many-level 2's host, which decrements the last
 * byte of a reverse bookmark and seeks there (after `b` it lands before `ab` and `aa`).
 */
export function dbRangeOptions(wire: RangeOptions = NONE, bookmark?: Uint8Array): DbRangeOptions {
  const reverse = wire.reverse === true
  const limit = wire.limit
  const out: DbRangeOptions = {
    reverse,
    limit: limit !== undefined && limit >= 0 ? limit : -1,
    keyEncoding: 'buffer',
    valueEncoding: 'buffer'
  }
  const lower = bookmark !== undefined && !reverse
  const upper = bookmark !== undefined && reverse
  if (lower) out.gt = bookmark
  else {
    if (wire.gt !== undefined) out.gt = wire.gt
    if (wire.gte !== undefined) out.gte = wire.gte
  }
  if (upper) out.lt = bookmark
  else {
    if (wire.lt !== undefined) out.lt = wire.lt
    if (wire.lte !== undefined) out.lte = wire.lte
  }
  return out
}

/**
 * Whether `key` lies within the bounds of `options` (bytewise, as LevelDB orders keys). A
 * bound that is present but `undefined` does not occur: {@link dbRangeOptions} only copies
 * present bounds.
 */
export function inDbRange(options: DbRangeOptions, key: Uint8Array): boolean {
  const { gt, gte, lt, lte } = options
  if (gte !== undefined ? Buffer.compare(key, gte) < 0 : gt !== undefined && Buffer.compare(key, gt) <= 0) return false
  if (lte !== undefined ? Buffer.compare(key, lte) > 0 : lt !== undefined && Buffer.compare(key, lt) >= 0) return false
  return true
}
