import {
  encodeOutput,
  inRange,
  type KeyRange,
  Output,
  type WatchMessage,
  watchChangeEntryLength,
  watchChangesFrame,
  watchChangesFrameLength,
  watchChangesHead,
  writeWatchChangeEntry
} from '@rave-level/protocol'
import type { Change } from '@rave-level/store'
import { wireRange } from './db-options.js'

/** What a {@link HostWatch} needs from its connection. */
export interface WatchOwner {
  /**
   * Queue a frame for the guest; `later`: once this turn of the event loop is done, after the
   * answers that other guests wait for (a change waits for nobody).
   */
  send(frame: Buffer, later: boolean): void
  /** Whether the guest reads its output: what is buffered for it is below the high-water mark. */
  readonly reading: boolean
  /** Largest frame the guest accepts. */
  readonly replyLimit: number
}

/**
 * Largest `WatchChanges` frame, unless one change needs more: what a guest that stopped reading
 * can be sent beyond the high-water mark (one commit can be much larger).
 */
const FRAME_BYTES = 64 * 1024

/**
 * What a watch sends of one commit: the entries of each `WatchChanges` frame (see
 * `watchChangesFrame`), and `null` for a change too large for any frame the guest accepts.
 */
type Parts = readonly (Buffer | null)[]

/** Frames are measured as if for the largest id, so that one encoding serves every watch. */
const ANY_ID = Number.MAX_SAFE_INTEGER

/**
 * The encodings of the commit whose listeners run now, by what decides them (range, keys,
 * values, the guest's frame limit): watches alike share one, so a commit is encoded once
 * however many watch it. Dropped as soon as its listeners ran (they run synchronously).
 */
let encodedFor: readonly Change[] | null = null
const encoded = new Map<string, Parts>()
const forget = (): void => {
  encodedFor = null
  encoded.clear()
}

/**
 * One watch of one connection: the changes the database commits in its range, sent to the
 * guest as `WatchChanges` in commit order, the changes of one commit consecutive.
 *
 * Bounded: while the guest does not read its output (it is above the connection's high-water
 * mark), frames wait here, up to `maxQueue` bytes. Beyond that they are dropped, all of them,
 * and a `WatchGap` takes their place: the guest learns that it missed changes, and later ones
 * queue behind the gap. A change that does not fit in a frame the guest accepts becomes a gap
 * too. So a watcher that does not read costs the host at most `maxQueue` bytes (plus the
 * connection's high-water mark), whatever is written.
 */
export class HostWatch {
  readonly id: number
  readonly #owner: WatchOwner
  readonly #range: KeyRange
  readonly #keys: boolean
  readonly #values: boolean
  readonly #maxQueue: number
  readonly #gap: Buffer
  /** What decides its frames, besides the guest's limit: see {@link encoded}. */
  readonly #shape: string
  #queue: Buffer[] = []
  #queued = 0
  #started = false
  #closed = false
  #stop: (() => void) | null = null

  constructor(owner: WatchOwner, message: WatchMessage, maxQueue: number) {
    this.id = message.watch
    this.#owner = owner
    this.#range = wireRange(message)
    this.#keys = message.keys === true
    this.#values = message.values === true
    this.#maxQueue = maxQueue
    this.#gap = encodeOutput(Output.watchGap, { id: this.id })
    const r = this.#range
    const bound = (b: Uint8Array | undefined) => (b === undefined ? '-' : Buffer.from(b).toString('hex'))
    this.#shape = `${this.#keys ? 'k' : ''}${this.#values ? 'v' : ''}${r.lowerInclusive ? '[' : '('}${bound(r.lower)},${bound(r.upper)}${r.upperInclusive ? ']' : ')'}`
  }

  get closed(): boolean {
    return this.#closed
  }

  /** The store's listener: the changes of one commit. */
  readonly listener = (changes: readonly Change[]): void => {
    if (this.#closed) return
    if (encodedFor !== changes) {
      if (encodedFor === null) queueMicrotask(forget)
      else encoded.clear()
      encodedFor = changes
    }
    const limit = this.#owner.replyLimit
    const shape = `${this.#shape}${limit}`
    let parts = encoded.get(shape)
    if (parts === undefined) {
      parts = this.#encode(changes, limit)
      encoded.set(shape, parts)
    }
    const owner = this.#owner
    for (const part of parts) {
      if (part === null) {
        this.#push(this.#gap)
      } else if (this.#sendsNow) {
        // The shared entries go as they are, behind this watch's head (one copy, into the
        // chunk the stream writes).
        owner.send(watchChangesHead(this.id, part.length), true)
        owner.send(part, true)
      } else {
        this.#push(watchChangesFrame(this.id, part))
      }
    }
  }

  /**
   * The entries of the frames this watch sends of `changes`: those in its range, as many to a
   * frame as fit in {@link FRAME_BYTES} (or the guest's `limit`, if lower), in order; `null` for
   * a change that no frame within `limit` can hold (the guest learns it missed one).
   */
  #encode(changes: readonly Change[], limit: number): Parts {
    const range = this.#range
    const all = range.lower === undefined && range.upper === undefined
    const cap = Math.min(limit, FRAME_BYTES)
    const parts: (Buffer | null)[] = []
    let taken: Change[] = []
    let bytes = 0
    const flush = (): void => {
      const buf = Buffer.allocUnsafe(bytes)
      let o = 0
      for (const change of taken) o = writeWatchChangeEntry(buf, o, change.type, this.#key(change), this.#value(change))
      parts.push(buf)
      taken = []
      bytes = 0
    }
    for (const change of changes) {
      if (!all && !inRange(range, change.key)) continue
      const n = watchChangeEntryLength(this.#key(change), this.#value(change))
      if (watchChangesFrameLength(ANY_ID, n) > limit) {
        if (taken.length > 0) flush()
        parts.push(null)
        continue
      }
      if (taken.length > 0 && watchChangesFrameLength(ANY_ID, bytes + n) > cap) flush()
      taken.push(change)
      bytes += n
    }
    if (taken.length > 0) flush()
    return parts
  }

  #key(change: Change): Uint8Array | undefined {
    return this.#keys ? change.key : undefined
  }

  #value(change: Change): Uint8Array | undefined {
    return this.#values ? change.value : undefined
  }

  /** Registered (`stop` ends the subscription): send what waited. */
  start(stop: () => void): void {
    this.#stop = stop
    this.#started = true
    this.drain()
  }

  /** The guest reads again: send what waits, while it does. */
  drain(): void {
    if (!this.#started || this.#closed) return
    const owner = this.#owner
    let i = 0
    const queue = this.#queue
    while (i < queue.length && owner.reading) {
      const frame = queue[i++] as Buffer
      this.#queued -= frame.length
      owner.send(frame, true)
    }
    if (i > 0) this.#queue = i === queue.length ? [] : queue.slice(i)
  }

  /** Stop: the subscription ends and what waits is dropped. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#stop?.()
    this.#stop = null
    this.#queue = []
    this.#queued = 0
  }

  /** A frame goes to the guest at once: registered, nothing waits before it, and the guest reads. */
  get #sendsNow(): boolean {
    return this.#started && this.#queue.length === 0 && this.#owner.reading
  }

  #push(frame: Buffer): void {
    if (this.#sendsNow) {
      this.#owner.send(frame, true)
      return
    }
    if (this.#queued + frame.length > this.#maxQueue) {
      // Drop what waits: the gap goes first once the guest reads again, then what fits after it.
      this.#queue = [this.#gap]
      this.#queued = this.#gap.length
      if (frame === this.#gap || this.#queued + frame.length > this.#maxQueue) return
    } else if (frame === this.#gap && this.#queue[this.#queue.length - 1] === this.#gap) {
      return
    }
    this.#queue.push(frame)
    this.#queued += frame.length
  }
}
