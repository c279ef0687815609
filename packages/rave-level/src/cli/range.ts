import { type EncodingName, encodeArgument } from './codec.js'
import { UsageError } from './usage-error.js'

/** The range flags of `ls`, `count` and `clear`, as commander parsed them. */
export interface RangeFlags {
  gt?: string | undefined
  gte?: string | undefined
  lt?: string | undefined
  lte?: string | undefined
  prefix?: string | undefined
  limit?: number | undefined
  reverse?: boolean | undefined
}

/** Iterator options over buffer keys, as abstract-level takes them. */
export interface BufferRange {
  gt?: Buffer
  gte?: Buffer
  lt?: Buffer
  lte?: Buffer
  limit: number
  reverse: boolean
}

const BOUNDS = ['gt', 'gte', 'lt', 'lte'] as const

/**
 * Turn range flags into iterator options. Bounds are encoded with the key encoding. `--prefix`
 * selects the keys whose encoded bytes start with the prefix's bytes; for `json` keys the prefix
 * is matched against the stored JSON text as it is (not parsed), so `--prefix '["user"'` works.
 * @throws {@link UsageError} when `--prefix` is combined with a bound, or a bound is not valid
 * in the key encoding.
 */
export function rangeOptions(flags: RangeFlags, keyEncoding: EncodingName): BufferRange {
  const range: BufferRange = { limit: flags.limit ?? -1, reverse: flags.reverse === true }
  if (flags.prefix !== undefined) {
    const given = BOUNDS.filter((name) => flags[name] !== undefined)
    if (given.length > 0) {
      throw new UsageError(`--prefix cannot be combined with ${given.map((name) => `--${name}`).join(', ')}`)
    }
    const prefix = encodeArgument(keyEncoding === 'json' ? 'utf8' : keyEncoding, flags.prefix, '--prefix')
    range.gte = prefix
    const end = successor(prefix)
    if (end !== undefined) range.lt = end
    return range
  }
  for (const name of BOUNDS) {
    const text = flags[name]
    if (text !== undefined) range[name] = encodeArgument(keyEncoding, text, `--${name}`)
  }
  return range
}

/** The range flags as given, for telling the user what a command covers (`''` for everything). */
export function describeRange(flags: RangeFlags): string {
  const parts: string[] = []
  for (const name of [...BOUNDS, 'prefix', 'limit'] as const) {
    if (flags[name] !== undefined) parts.push(`--${name} ${JSON.stringify(flags[name])}`)
  }
  if (flags.reverse) parts.push('--reverse')
  return parts.join(' ')
}

/**
 * The smallest byte string greater than every string that starts with `prefix`: the prefix
 * with its last byte below 0xff incremented and what follows dropped. `undefined` when there is
 * none (empty prefix, or only 0xff bytes): then every key from the prefix on matches.
 */
function successor(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] as number
    if (byte < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1))
      end[i] = byte + 1
      return end
    }
  }
  return undefined
}
