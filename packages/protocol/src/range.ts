import type { RangeOptions } from './messages.js'

/**
 * A range of keys (bytes, compared as LevelDB does) with at most one bound per side: the one
 * definition that guests and hosts share, so that both narrow, test and send ranges alike.
 */
export interface KeyRange {
  readonly lower: Uint8Array | undefined
  readonly lowerInclusive: boolean
  readonly upper: Uint8Array | undefined
  readonly upperInclusive: boolean
}

/** Range bounds as the wire (and abstract-level) has them; nullish means absent. */
export interface RangeBounds {
  gt?: Uint8Array | null | undefined
  gte?: Uint8Array | null | undefined
  lt?: Uint8Array | null | undefined
  lte?: Uint8Array | null | undefined
}

/**
 * The {@link KeyRange} of `bounds`. `gte` takes precedence over `gt` and `lte` over `lt`, as in
 * memory-level and classic-level.
 */
export function keyRange(bounds: RangeBounds): KeyRange {
  const { gt, gte, lt, lte } = bounds
  return {
    lower: gte ?? gt ?? undefined,
    lowerInclusive: gte != null,
    upper: lte ?? lt ?? undefined,
    upperInclusive: lte != null
  }
}

/** Whether `key` lies within `range`, comparing bytes. */
export function inRange(range: KeyRange, key: Uint8Array): boolean {
  if (range.lower !== undefined) {
    const c = Buffer.compare(key, range.lower)
    if (c < 0 || (c === 0 && !range.lowerInclusive)) return false
  }
  if (range.upper !== undefined) {
    const c = Buffer.compare(key, range.upper)
    if (c > 0 || (c === 0 && !range.upperInclusive)) return false
  }
  return true
}

/**
 * Narrow `range` to start at a position: the bound on the side the iteration comes from (lower
 * when forward, upper when reverse) becomes `key`, exclusive after a yielded key and inclusive
 * at a seek target. The caller guarantees `key` lies within `range`, so the narrowed bound is
 * always at least as tight as the original one. This is exact for keys of any length, unlike
 * many-level 2's host, which decrements the last byte of a reverse bookmark and seeks there
 * (after `b` it lands before `ab` and `aa`).
 */
export function narrow(range: KeyRange, reverse: boolean, key: Uint8Array, inclusive: boolean): KeyRange {
  return reverse
    ? { lower: range.lower, lowerInclusive: range.lowerInclusive, upper: key, upperInclusive: inclusive }
    : { lower: key, lowerInclusive: inclusive, upper: range.upper, upperInclusive: range.upperInclusive }
}

/** The bounds of `range` (`gt` or `gte`, `lt` or `lte`; absent bounds are absent keys). */
export function rangeBounds(range: KeyRange): RangeOptions {
  const out: RangeOptions = {}
  if (range.lower !== undefined) {
    if (range.lowerInclusive) out.gte = range.lower
    else out.gt = range.lower
  }
  if (range.upper !== undefined) {
    if (range.upperInclusive) out.lte = range.upper
    else out.lt = range.upper
  }
  return out
}
