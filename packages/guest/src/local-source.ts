import { KEYS, rangeBounds, VALUES } from '@rave-level/protocol'
import type { ForwardTarget, LocalIterator, Sequencer } from '@rave-level/store'
import { fromBytes, toBytes } from './formats.js'
import type { RangeInput } from './range.js'
import type { GuestSnapshot } from './snapshot.js'
import type { Shape, Source, SourceOwner, Start } from './source.js'

/** Most entries read ahead from a local iterator at once. */
const MAX_AHEAD = 1024
const BUFFER_KEY = Object.freeze({ keyEncoding: 'buffer' as const })
const NO_ITEM = Symbol('none')
const noop = () => {}

/**
 * An iterator of the database the guest forwards to. On the cursor's original range it reads
 * in the caller's formats (no conversion, and whole batches are handed over as they are);
 * narrowed to a position, which the cursor holds as bytes, it reads buffers that it converts.
 * It reads ahead in growing chunks (like classic-level's own iterator does natively), so that
 * `next()` mostly costs no call into the database. It has no limit of its own: its count would
 * include entries the caller never got (a seek could then not go back); reads ahead stop at
 * what is left of the cursor's limit.
 */
export class LocalSource implements Source {
  readonly original: boolean
  readonly #owner: SourceOwner
  readonly #shape: Shape
  readonly #remaining: () => number
  #it: Promise<LocalIterator>
  #items: unknown[] = []
  #pos = 0
  #ahead = 16
  #fetching = false
  #ended = false
  #failure: Error | null = null
  /** The last item taken, whose key is the position (read lazily: not per item). */
  #last: unknown = NO_ITEM
  #closed = false

  /**
   * @param remaining What is left of the cursor's limit (`-1` for none).
   */
  constructor(
    owner: SourceOwner,
    local: { db: ForwardTarget; sequencer: Sequencer },
    shape: Shape,
    start: Start,
    rangeInput: RangeInput,
    snap: GuestSnapshot | undefined,
    remaining: () => number
  ) {
    this.#owner = owner
    this.#shape = shape
    this.#remaining = remaining
    this.original = start.original
    const original = start.original
    const options = {
      ...(original ? rangeInput : rangeBounds(start.range)),
      limit: -1,
      reverse: shape.reverse,
      keys: shape.wantKeys,
      values: shape.wantValues,
      keyEncoding: original ? shape.keyFormat : 'buffer',
      valueEncoding: original ? shape.valueFormat : 'buffer'
    }
    const { db, sequencer } = local
    const mode = shape.mode
    // Created in sequence, so that it sees exactly the writes issued before it (or its snapshot).
    this.#it = sequencer.read(async () => {
      const read = snap === undefined ? options : { ...options, snapshot: await snap.local() }
      return mode === KEYS ? db.keys(read) : mode === VALUES ? db.values(read) : db.iterator(read)
    })
    this.#it.catch(noop)
  }

  get ended(): boolean {
    return this.#ended
  }

  get failure(): Error | null {
    return this.#failure
  }

  available(): number {
    return this.#items.length - this.#pos
  }

  take(size: number, out: unknown[]): void {
    const items = this.#items
    const start = this.#pos
    const end = Math.min(items.length, start + size)
    if (end === start) return
    this.#pos = end
    this.#last = items[end - 1]
    if (this.original) {
      for (let i = start; i < end; i++) out.push(items[i])
    } else {
      for (let i = start; i < end; i++) out.push(this.#convert(items[i]))
    }
  }

  /**
   * Take `size` items when they are all available and `out` would be empty: the batch itself
   * when it is the whole of it (no copy), as a fast path for `nextv()`. Else `null`.
   */
  takeBatch(size: number): unknown[] | null {
    const items = this.#items
    if (!this.original || this.#pos !== 0 || items.length === 0 || items.length > size) return null
    this.#pos = items.length
    this.#last = items[items.length - 1]
    return items
  }

  want(size: number): void {
    if (this.#fetching || this.#ended || this.#failure !== null || this.#closed) return
    this.#fetching = true
    const remaining = this.#remaining()
    const wanted = Math.max(size, this.#ahead)
    const n = remaining < 0 ? wanted : Math.min(wanted, remaining)
    const it = this.#it
    it.then((i) => i.nextv(n)).then(
      (items) => {
        this.#fetching = false
        if (this.#closed || this.#it !== it) return
        this.#ahead = Math.min(this.#ahead * 2, MAX_AHEAD)
        // Left over items are kept: a fetch happens only once they are all taken.
        this.#items = this.#pos < this.#items.length ? this.#items.slice(this.#pos).concat(items) : items
        this.#pos = 0
        if (items.length === 0) this.#ended = true
        this.#owner.ready()
      },
      (err: Error) => {
        this.#fetching = false
        if (this.#closed || this.#it !== it) return
        this.#failure = err
        this.#owner.ready()
      }
    )
  }

  discard(): void {
    this.#items = []
    this.#pos = 0
    this.#last = NO_ITEM
    this.#ended = true
  }

  seek(target: Buffer): void {
    this.#items = []
    this.#pos = 0
    this.#ahead = 16
    this.#ended = false
    this.#last = NO_ITEM
    // A fetch in flight belongs to the old position: the new promise makes it stale.
    this.#it = this.#it.then((it) => {
      it.seek(target, BUFFER_KEY)
      return it
    })
    this.#it.catch(noop)
    this.#fetching = false
  }

  lastKey(): Buffer | null | 'blind' {
    const item = this.#last
    if (item === NO_ITEM) return null
    const { mode, wantKeys } = this.#shape
    // Keys are read only when the caller wants them: a values iterator on the leader's own
    // database stays as fast as classic-level's, at the price of not knowing its position.
    if (!wantKeys) return 'blind'
    return toBytes(mode === KEYS ? item : (item as unknown[])[0])
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    this.#items = []
    this.#pos = 0
    return this.#it.then((it) => it.close()).catch(noop)
  }

  /** An item read as buffers, in the caller's formats. */
  #convert(item: unknown): unknown {
    const { mode, keyFormat, valueFormat } = this.#shape
    if (mode === KEYS) return fromBytes(item as Uint8Array, keyFormat)
    if (mode === VALUES) return fromBytes(item as Uint8Array, valueFormat)
    const [key, value] = item as [Uint8Array | undefined, Uint8Array | undefined]
    return [
      key === undefined ? undefined : fromBytes(key, keyFormat),
      value === undefined ? undefined : fromBytes(value, valueFormat)
    ]
  }
}
