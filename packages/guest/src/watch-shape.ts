/**
 * @packageDocumentation
 * A watch's shape: which encoded keys it covers (a sublevel's prefix included, so that the
 * leader can filter) and how the bytes that arrive become the caller's keys and values (prefix
 * stripped). {@link GuestWatch} only queues and yields what this decodes.
 */

import { type KeyRange, keyRange } from '@rave-level/protocol'
import { fromBytesAt, toBytes } from './formats.js'
import type { WatchOptions } from './watch.js'

/** How a watch turns bytes into the caller's keys and values, and where it applies. */
export interface WatchShape {
  /** Encoded keys, prefix included (a sublevel's). */
  readonly range: KeyRange
  readonly keys: boolean
  readonly values: boolean
  /** Bytes to strip from each key (a sublevel's prefix). */
  readonly prefix: number
  /** The caller's key of the bytes `bytes[start, end)` (its prefix included). */
  decodeKey(bytes: Uint8Array, start: number, end: number): unknown
  /** The caller's value of the bytes `bytes[start, end)`. */
  decodeValue(bytes: Uint8Array, start: number, end: number): unknown
}

/** An encoding as abstract-level's `keyEncoding()` returns it. */
interface Encoding {
  readonly format: string
  encode(data: unknown): unknown
  decode(data: unknown): unknown
}

/** What {@link watchShape} needs of a database or sublevel. */
export interface WatchedDb {
  readonly prefix?: string | undefined
  keyEncoding(encoding?: unknown): Encoding
  valueEncoding(encoding?: unknown): Encoding
}

/**
 * The shape of a watch on `db` (a root database or a sublevel, nested or not) with `options`:
 * its range as encoded keys, within the sublevel's prefix (so the leader filters), and how to
 * decode what arrives.
 *
 * @throws abstract-level's `LEVEL_ENCODING_NOT_FOUND` for an unknown encoding.
 */
export function watchShape(db: WatchedDb, options: WatchOptions<unknown>): WatchShape {
  const keyEncoding = db.keyEncoding(options.keyEncoding)
  const valueEncoding = db.valueEncoding(options.valueEncoding)
  const prefix = Buffer.from(db.prefix ?? '', 'utf8')
  const bound = (key: unknown) => (key == null ? undefined : Buffer.concat([prefix, toBytes(keyEncoding.encode(key))]))
  let range = keyRange({
    gt: bound(options.gt),
    gte: bound(options.gte),
    lt: bound(options.lt),
    lte: bound(options.lte)
  })
  if (prefix.length > 0) {
    // Within the sublevel's keys: from its prefix up to, not including, the prefix with its
    // last byte (the separator) one higher, as abstract-level bounds a sublevel's iterators.
    const upper = Buffer.from(prefix)
    upper[upper.length - 1] = (upper[upper.length - 1] as number) + 1
    range = {
      lower: range.lower ?? prefix,
      lowerInclusive: range.lower === undefined ? true : range.lowerInclusive,
      upper: range.upper ?? upper,
      upperInclusive: range.upper === undefined ? false : range.upperInclusive
    }
  }
  const kf = keyEncoding.format
  const vf = valueEncoding.format
  const n = prefix.length
  return {
    range,
    keys: options.keys !== false,
    values: options.values !== false,
    prefix: n,
    decodeKey: (bytes, start, end) => keyEncoding.decode(fromBytesAt(bytes, start + n, end, kf)),
    decodeValue: (bytes, start, end) => valueEncoding.decode(fromBytesAt(bytes, start, end, vf))
  }
}
