import { ENTRIES, type IteratorMode, KEYS, type KeyRange, VALUES } from '@rave-level/protocol'
import type { DbRangeOptions } from './db-options.js'

/** The part of an abstract-level 3 iterator (entries, keys or values) the host uses. */
interface DbIterator {
  nextv(size: number): Promise<unknown[]>
  seek(target: Uint8Array, options: { keyEncoding: 'buffer' }): void
  close(): Promise<void>
}

/** The part of an abstract-level 3 database an iterator needs. */
export interface IteratorSource {
  iterator(options: DbRangeOptions | TextOptions): DbIterator
  keys(options: DbRangeOptions | TextOptions): DbIterator
  values(options: DbRangeOptions | TextOptions): DbIterator
  readonly supports: { readonly encodings?: { readonly utf8?: boolean } }
}

/** Options of an iterator that reads keys and values as text (see {@link DbReader}). */
type TextOptions = Omit<DbRangeOptions, 'keyEncoding' | 'valueEncoding'> & {
  keyEncoding: 'utf8'
  valueEncoding: 'utf8'
  snapshot?: object
}

const SEEK_OPTIONS = Object.freeze({ keyEncoding: 'buffer' } as const)
const noop = () => {}
/** What a database puts in place of bytes that are not UTF-8 when it reads them as text. */
const REPLACEMENT = '\uFFFD'

/**
 * The database side of one host iterator: the database iterator it reads, and whether it reads
 * keys and values as text or as buffers. It owns no flow control, limit or frames (that is
 * {@link HostIterator}); it hands out the items to send, each exactly the stored bytes (as a
 * buffer, or as a string whose UTF-8 bytes they are).
 *
 * Text: a database such as classic-level makes a string of a key or value about three times
 * faster than a buffer, and reading buffers was most of what a follower's iteration waited
 * for. So where the database stores text natively and the range is UTF-8, keys and values are
 * read as strings and encoded as their UTF-8 bytes, which are the stored bytes exactly unless
 * the database had to replace something that is not UTF-8 (U+FFFD). At the first string that
 * holds U+FFFD, the reader changes for good to a second database iterator that reads buffers:
 * created together with the first (so that it sees the same writes), positioned after the last
 * key sent, and from then on used alone. @internal
 */
export class DbReader {
  readonly #mode: IteratorMode
  #it: DbIterator
  /** While reading text: the iterator that reads buffers, for when text will not do. */
  #bytes: DbIterator | null
  /** While reading text: the last key sent in this generation, or the seek that began it. */
  #lastText: string | undefined
  #seekTarget: Uint8Array | undefined
  /** After changing to buffers: a key to drop if it comes first (it was sent already). */
  #skip: Uint8Array | null = null

  /**
   * Create the database iterator(s) of `mode` on `options` (which may name a snapshot); as text
   * where `db` stores text and `range` is UTF-8. Throws what `db.iterator()` throws.
   */
  constructor(db: IteratorSource, mode: IteratorMode, range: KeyRange, options: DbRangeOptions) {
    this.#mode = mode
    if (mode !== VALUES && db.supports.encodings?.utf8 === true && isText(range)) {
      // Both now, before anything else runs: they see the same writes.
      const text = create(db, mode, { ...options, keyEncoding: 'utf8', valueEncoding: 'utf8' })
      try {
        this.#bytes = create(db, mode, options)
      } catch (err) {
        text.close().catch(noop)
        throw err
      }
      this.#it = text
    } else {
      this.#it = create(db, mode, options)
      this.#bytes = null
    }
  }

  /** Start a new generation at `target` (in the range). Throws what the iterator's `seek()` throws. */
  seek(target: Uint8Array): void {
    this.#lastText = undefined
    this.#seekTarget = target
    this.#skip = null
    this.#it.seek(target, SEEK_OPTIONS)
  }

  /** Up to `size` items; none at the end. */
  nextv(size: number): Promise<unknown[]> {
    return this.#it.nextv(size)
  }

  /**
   * Of `items` (not empty) as read, those to send: all of them, unless text would not do (then
   * those before it, and the reader changes to buffers) or the first was sent already (after
   * changing to buffers). Empty: nothing of this read is to be sent, read again.
   */
  accept(items: unknown[]): unknown[] {
    if (this.#bytes !== null) {
      const bad = firstNotText(items, this.#mode)
      if (bad !== -1) return this.#toBytes(items, bad)
      this.#lastText = keyOf(items[items.length - 1], this.#mode) as string
    } else if (this.#skip !== null) {
      const skip = this.#skip
      this.#skip = null
      if (Buffer.compare(keyOf(items[0], this.#mode) as Uint8Array, skip) === 0) return items.slice(1)
    }
    return items
  }

  /** Close the database iterator(s), after a read in flight if any. */
  close(): void {
    this.#it.close().catch(noop)
    if (this.#bytes !== null) this.#bytes.close().catch(noop)
  }

  /**
   * Text will not do (item `bad` holds U+FFFD): change to the buffer iterator for good,
   * positioned after the last key sent (or where this generation began), and return what of
   * `items` comes before `bad`, to be sent as it is.
   */
  #toBytes(items: unknown[], bad: number): unknown[] {
    const text = this.#it
    const bytes = this.#bytes as DbIterator
    this.#it = bytes
    this.#bytes = null
    text.close().catch(noop)
    const good = items.slice(0, bad)
    const last = good.length > 0 ? (keyOf(good[good.length - 1], this.#mode) as string) : this.#lastText
    this.#lastText = undefined
    if (last !== undefined) {
      const key = Buffer.from(last, 'utf8')
      bytes.seek(key, SEEK_OPTIONS)
      this.#skip = key
    } else if (this.#seekTarget !== undefined) {
      bytes.seek(this.#seekTarget, SEEK_OPTIONS)
    }
    return good
  }
}

function create(db: IteratorSource, mode: IteratorMode, options: DbRangeOptions | TextOptions): DbIterator {
  return mode === ENTRIES ? db.iterator(options) : mode === KEYS ? db.keys(options) : db.values(options)
}

/** Whether every bound of `range` is UTF-8 (so that as text it names the same bytes). */
function isText(range: KeyRange): boolean {
  for (const bound of [range.lower, range.upper]) {
    if (bound === undefined) continue
    const buf = Buffer.from(bound.buffer, bound.byteOffset, bound.byteLength)
    if (!buf.equals(Buffer.from(buf.toString('utf8'), 'utf8'))) return false
  }
  return true
}

/** Index of the first item read as text that holds U+FFFD, or -1. */
function firstNotText(items: unknown[], mode: IteratorMode): number {
  for (let i = 0; i < items.length; i++) {
    if (mode === ENTRIES) {
      const [k, v] = items[i] as [string, string]
      if (k.includes(REPLACEMENT) || v.includes(REPLACEMENT)) return i
    } else if ((items[i] as string).includes(REPLACEMENT)) {
      return i
    }
  }
  return -1
}

function keyOf(item: unknown, mode: IteratorMode): string | Uint8Array {
  return mode === ENTRIES ? (item as [string | Uint8Array, unknown])[0] : (item as string | Uint8Array)
}
