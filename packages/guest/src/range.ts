import type { RangeOptions } from '@rave-level/protocol'
import { toBytes } from './formats.js'

/**
 * A key range with at most one bound per side, over encoded (byte) keys. `gte` takes
 * precedence over `gt` and `lte` over `lt`, as in memory-level and classic-level.
 */
export interface Range {
  readonly lower: Buffer | undefined
  readonly lowerInclusive: boolean
  readonly upper: Buffer | undefined
  readonly upperInclusive: boolean
}

/** Range options as abstract-level hands them to the private API (in the key format, possibly nullish). */
export interface RangeInput {
  gt?: unknown
  gte?: unknown
  lt?: unknown
  lte?: unknown
}

/** Normalize abstract-level range options (in any format) into a {@link Range} of bytes. */
export function toRange(options: RangeInput): Range {
  const { gte, gt, lte, lt } = options
  return {
    lower: gte != null ? toBytes(gte) : gt != null ? toBytes(gt) : undefined,
    lowerInclusive: gte != null,
    upper: lte != null ? toBytes(lte) : lt != null ? toBytes(lt) : undefined,
    upperInclusive: lte != null
  }
}

/** Whether `key` lies within `range`, comparing bytes. */
export function inRange(range: Range, key: Uint8Array): boolean {
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
 * Narrow `range` to start at a cursor: the bound on the side the iterator comes from
 * (lower when forward, upper when reverse) becomes `key`, exclusive after a yielded key and
 * inclusive at a seek target. The caller guarantees `key` lies within `range`, so the
 * narrowed bound is always at least as tight as the original one.
 */
export function narrow(range: Range, reverse: boolean, key: Buffer, inclusive: boolean): Range {
  return reverse
    ? { lower: range.lower, lowerInclusive: range.lowerInclusive, upper: key, upperInclusive: inclusive }
    : { lower: key, lowerInclusive: inclusive, upper: range.upper, upperInclusive: range.upperInclusive }
}

/** The wire (and abstract-level) range options of `range`: `gt` or `gte`, `lt` or `lte`. */
export function rangeOptions(range: Range): RangeOptions {
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
