import { type KeyRange, keyRange } from '@rave-level/protocol'
import { toBytes } from './formats.js'

/** Range options as abstract-level hands them to the private API (in the key format, possibly nullish). */
export interface RangeInput {
  gt?: unknown
  gte?: unknown
  lt?: unknown
  lte?: unknown
}

/** The key range of abstract-level range options in any format, as bytes the caller does not share. */
export function toRange(options: RangeInput): KeyRange {
  const bytes = (bound: unknown) => (bound != null ? toBytes(bound) : undefined)
  return keyRange({ gt: bytes(options.gt), gte: bytes(options.gte), lt: bytes(options.lt), lte: bytes(options.lte) })
}
