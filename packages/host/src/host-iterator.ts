import {
  ENTRIES,
  encodeOutput,
  type IteratorDataMessage,
  type IteratorMessage,
  type IteratorMode,
  inRange,
  type KeyRange,
  modeOf,
  Output,
  outputFrameLength,
  REMOTE_ERROR,
  wireCode,
  wireMessage
} from '@rave-level/protocol'
import { type DbRangeOptions, dbRangeOptions, wireRange } from './db-options.js'
import { DbReader, type IteratorSource } from './db-reader.js'
import { entryTooLarge } from './errors.js'

/** What an iterator needs from its connection. */
export interface IteratorOwner {
  readonly db: IteratorSource
  /** Target size in bytes of one `IteratorData` message. */
  readonly iteratorBytes: number
  /** Largest frame the guest accepts. */
  readonly replyLimit: number
  send(frame: Buffer): void
}

/** Most items read (and sent) at once, whatever their size. */
const MAX_ITEMS = 1000
const NO_DATA: Uint8Array[] = []

/**
 * One guest iterator on the host: many-level 2's flow control. The first read after opening or
 * seeking yields one item (a guest that wants one entry costs one entry); after the guest
 * acknowledges it, the host reads ahead, keeping at most two `IteratorData` messages
 * unacknowledged. So a guest that stops consuming holds at most two messages of this iterator
 * in memory, each aiming at `iteratorBytes` (sized from the largest item seen so far).
 *
 * `seq` identifies a seek generation: a seek bumps it on the guest, which then ignores data of
 * older generations, and the host tags everything it sends with the generation it belongs to.
 *
 * The host enforces `limit` itself (the database iterator has none) because read-ahead that a
 * seek discards was never consumed: per generation it sends at most `limit - base` items, where
 * `base` is what the guest had acknowledged consuming when the generation began. That may send
 * a few items more than the guest uses, never fewer; the guest stops at its limit.
 *
 * Reading the database (as text where it can, with an exact fallback to buffers) is its
 * {@link DbReader}'s.
 */
export class HostIterator {
  readonly id: number
  #seq: number
  readonly #owner: IteratorOwner
  readonly #mode: IteratorMode
  readonly #range: KeyRange
  readonly #options: DbRangeOptions
  readonly #limit: number
  /** The database iterator(s): null until open, and once released. */
  #reader: DbReader | null = null
  #consumed: number
  #base: number
  #sent = 0
  #pendingAcks = 0
  #itemBytes = 1
  #first = true
  #busy = false
  #ended = false
  #failed = false
  #closed = false
  #pendingSeek: Uint8Array | null = null
  #pendingSeekSeq = 0
  readonly #data: IteratorDataMessage

  constructor(owner: IteratorOwner, message: IteratorMessage) {
    const { options } = message
    this.id = message.id
    this.#seq = message.seq
    this.#owner = owner
    this.#mode = modeOf(options)
    // A seek takes precedence over a bookmark (a guest sends the one that is current).
    const seek = message.seek
    this.#range = wireRange(options, seek === undefined ? message.bookmark : undefined)
    this.#options = dbRangeOptions(this.#range, options)
    this.#limit = this.#options.limit >= 0 ? this.#options.limit : Number.POSITIVE_INFINITY
    this.#options.limit = -1
    this.#consumed = message.consumed
    this.#base = message.consumed
    this.#data = { id: message.id, seq: message.seq, data: NO_DATA }
    if (seek !== undefined) {
      this.#pendingSeek = seek
      this.#pendingSeekSeq = message.seq
    }
  }

  /** Current seek generation. */
  get seq(): number {
    return this.#seq
  }

  /**
   * Create the database iterator (in the connection's `Sequencer`, so it sees exactly the writes
   * issued before it), on `snapshot` if given, and start reading. Throws what `db.iterator()`
   * throws.
   */
  open(snapshot?: object): void {
    if (this.#closed) return
    const options = snapshot === undefined ? this.#options : { ...this.#options, snapshot }
    this.#reader = new DbReader(this.#owner.db, this.#mode, this.#range, options)
    if (this.#pendingSeek !== null) this.#applySeek()
    else this.#pump()
  }

  /** `IteratorAck`: the guest consumed one `IteratorData` of generation `seq`. */
  ack(seq: number, consumed: number): void {
    if (seq !== this.#seq || this.#closed) return
    if (this.#pendingAcks > 0) this.#pendingAcks--
    if (consumed > this.#consumed) this.#consumed = consumed
    this.#pump()
  }

  /** `IteratorSeek`: start generation `seq` at `target`. Applied once a read in flight is done. */
  seek(target: Uint8Array, seq: number): void {
    if (this.#closed || this.#failed) return
    this.#pendingSeek = target
    this.#pendingSeekSeq = seq
    if (!this.#busy && this.#reader !== null) this.#applySeek()
  }

  /** Report that the database iterator could not be created, then behave as failed. */
  fail(err: unknown): void {
    if (this.#closed || this.#failed) return
    if (this.#pendingSeek !== null) {
      // The guest already moved on to the pending generation and ignores older ones.
      this.#seq = this.#pendingSeekSeq
      this.#pendingSeek = null
    }
    this.#failed = true
    this.#send(
      encodeOutput(Output.iteratorError, {
        id: this.id,
        seq: this.#seq,
        error: wireCode(err) ?? REMOTE_ERROR,
        message: wireMessage(err)
      })
    )
    this.#release()
  }

  /** Stop for good and close the database iterator (after a read in flight, if any). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#pendingSeek = null
    this.#release()
  }

  #release(): void {
    const it = this.#reader
    this.#reader = null
    if (it !== null) it.close()
  }

  #applySeek(): void {
    const target = this.#pendingSeek as Uint8Array
    this.#pendingSeek = null
    this.#seq = this.#pendingSeekSeq
    this.#ended = false
    this.#first = true
    this.#pendingAcks = 0
    this.#base = this.#consumed
    this.#sent = 0
    if (!inRange(this.#range, target)) {
      // As abstract-level specifies, a target outside the range ends the iterator. It must never
      // reach classic-level: on an empty database its iterator then aborts the whole process.
      this.#end()
      return
    }
    try {
      ;(this.#reader as DbReader).seek(target)
    } catch (err) {
      this.fail(err)
      return
    }
    this.#pump()
  }

  #pump(): void {
    if (this.#busy || this.#ended || this.#failed || this.#closed || this.#pendingAcks > 1) return
    const it = this.#reader
    if (it === null) return
    const remaining = this.#limit - this.#base - this.#sent
    if (remaining <= 0) {
      this.#end()
      return
    }
    const first = this.#first
    this.#first = false
    const size = first
      ? 1
      : Math.min(remaining, MAX_ITEMS, Math.max(1, Math.floor(this.#owner.iteratorBytes / this.#itemBytes)))
    this.#busy = true
    it.nextv(size).then(
      (items) => this.#onItems(items, first),
      (err) => this.#onError(err)
    )
  }

  #onItems(items: unknown[], first: boolean): void {
    this.#busy = false
    if (this.#closed || this.#failed) return
    if (this.#pendingSeek !== null) {
      this.#applySeek()
    } else if (items.length === 0) {
      this.#end()
    } else {
      items = (this.#reader as DbReader).accept(items)
      if (items.length === 0) {
        // Nothing of this read is to be sent (the reader changed to buffers): read again.
        this.#first = first
        this.#pump()
        return
      }
      this.#sent += items.length
      // Read the next batch before encoding this one, so that the database's thread reads while
      // we encode (its frames still leave before anything of the next batch). Counted as one
      // frame until we know. Not when the limit is reached: #pump would send the end at once,
      // ahead of this batch. After the first item of a generation, wait for the guest instead.
      this.#pendingAcks++
      const early = !first && this.#limit - this.#base - this.#sent > 0
      if (early) this.#pump()
      const data = this.#mode === ENTRIES ? flatten(items as [Uint8Array, Uint8Array][]) : (items as Uint8Array[])
      const { frames, error } = this.#encode(data, this.#mode === ENTRIES ? 2 : 1)
      let length = 0
      for (const frame of frames) length += frame.length
      const itemBytes = Math.ceil(length / items.length)
      if (itemBytes > this.#itemBytes) this.#itemBytes = itemBytes
      this.#pendingAcks += frames.length - 1
      for (const frame of frames) this.#send(frame)
      if (error !== undefined) {
        // A database that ignores the buffer encodings, or an entry too large for the guest:
        // what came before it was sent, and the guest learns why it ends there.
        this.fail(error)
      } else if (!first && !early) {
        this.#pump()
      }
    }
  }

  /**
   * `IteratorData` frames for `data` (whole entries of `stride` items): one, unless that would
   * exceed the guest's frame limit, in which case as many as needed (each acknowledged on its
   * own). An entry that does not fit alone, and everything after it, is not encoded: `error`
   * (`LEVEL_FRAME_TOO_LARGE`) says so.
   */
  #encode(data: Uint8Array[], stride: number): { frames: Buffer[]; error?: unknown } {
    const msg = this.#data
    msg.seq = this.#seq
    const limit = this.#owner.replyLimit
    const frames: Buffer[] = []
    try {
      msg.data = data
      if (limit === Number.POSITIVE_INFINITY || outputFrameLength(Output.iteratorData, msg) <= limit) {
        frames.push(encodeOutput(Output.iteratorData, msg))
        return { frames }
      }
      let start = 0
      while (start < data.length) {
        let end = start
        while (end < data.length) {
          msg.data = data.slice(start, end + stride)
          if (outputFrameLength(Output.iteratorData, msg) > limit) break
          end += stride
        }
        if (end === start) {
          return { frames, error: entryTooLarge(limit) }
        }
        msg.data = data.slice(start, end)
        frames.push(encodeOutput(Output.iteratorData, msg))
        start = end
      }
      return { frames }
    } catch (error) {
      return { frames, error }
    } finally {
      msg.data = NO_DATA
    }
  }

  #onError(err: unknown): void {
    this.#busy = false
    if (this.#closed) return
    this.fail(err)
  }

  #end(): void {
    this.#ended = true
    this.#send(encodeOutput(Output.iteratorEnd, { id: this.id, seq: this.#seq }))
  }

  #send(frame: Buffer): void {
    if (!this.#closed) this.#owner.send(frame)
  }
}

function flatten(entries: [Uint8Array, Uint8Array][]): Uint8Array[] {
  const data = new Array<Uint8Array>(entries.length * 2)
  let n = 0
  for (const entry of entries) {
    data[n++] = entry[0]
    data[n++] = entry[1]
  }
  return data
}
