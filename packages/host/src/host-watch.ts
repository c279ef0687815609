import {
  encodeOutput,
  inRange,
  type KeyRange,
  Output,
  outputFrameLength,
  type WatchChangeMessage,
  type WatchMessage
} from '@rave-level/protocol'
import type { Change } from '@rave-level/store'
import { wireRange } from './db-options.js'

/** What a {@link HostWatch} needs from its connection. */
export interface WatchOwner {
  /** Queue a frame for the guest. */
  send(frame: Buffer): void
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
/** Bytes a change adds to a `WatchChanges` frame at most, beyond its key and value. */
const CHANGE_OVERHEAD = 24
/** Bytes of a `WatchChanges` frame at most, beyond its changes. */
const FRAME_OVERHEAD = 16

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
  }

  get closed(): boolean {
    return this.#closed
  }

  /** The store's listener: the changes of one commit. */
  readonly listener = (changes: readonly Change[]): void => {
    if (this.#closed) return
    const range = this.#range
    const all = range.lower === undefined && range.upper === undefined
    let out: WatchChangeMessage[] | null = null
    let bytes = FRAME_OVERHEAD
    const limit = this.#owner.replyLimit
    const cap = Math.min(limit, FRAME_BYTES)
    for (const change of changes) {
      if (!all && !inRange(range, change.key)) continue
      const message: WatchChangeMessage = { type: change.type }
      let size = CHANGE_OVERHEAD
      if (this.#keys) {
        message.key = change.key
        size += change.key.byteLength
      }
      if (this.#values && change.value !== undefined) {
        message.value = change.value
        size += change.value.byteLength
      }
      if (out !== null && bytes + size > cap) {
        this.#push(encodeOutput(Output.watchChanges, { id: this.id, changes: out }))
        out = null
        bytes = FRAME_OVERHEAD
      }
      if (
        size + FRAME_OVERHEAD > limit &&
        outputFrameLength(Output.watchChanges, { id: this.id, changes: [message] }) > limit
      ) {
        // It cannot reach the guest: tell it that it missed a change.
        this.#push(this.#gap)
        continue
      }
      out ??= []
      out.push(message)
      bytes += size
    }
    if (out !== null) this.#push(encodeOutput(Output.watchChanges, { id: this.id, changes: out }))
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
      owner.send(frame)
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

  #push(frame: Buffer): void {
    if (this.#started && this.#queue.length === 0 && this.#owner.reading) {
      this.#owner.send(frame)
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
