import { inRange, type KeyRange, narrow } from '@rave-level/protocol'
import type { Start } from './source.js'

/**
 * Where the caller of one cursor is, independent of where its entries come from: nothing read
 * yet, just after the last key it yielded, or at a seek target; how many entries it yielded
 * against its limit; and whether it is at the end (told the caller, or after a seek outside the
 * range). It owns the cursor's original range and limit, and from them the {@link Start} of
 * every new source: the range NARROWED to the position, with the limit that is left.
 *
 * It knows nothing of sources, connections or waiting reads; the cursor tells it what
 * happened (entries yielded, a source dropped, a seek). @internal
 */
export class CursorPosition {
  readonly #range: KeyRange
  readonly #reverse: boolean
  /** The caller's limit, `-1` (or any negative) for none. */
  readonly #limit: number
  /** Where a new source starts: `null` for the start of the range. */
  #from: Buffer | null = null
  #fromInclusive = false
  /** The last seek() target was out of range: at the end until the next seek(). */
  #out = false
  /** Entries were yielded without their keys, so the position is unknown. */
  #blind = false
  /** The caller has been told about the end (cleared by seek()). */
  #atEnd = false
  #yielded = 0

  constructor(range: KeyRange, reverse: boolean, limit: number) {
    this.#range = range
    this.#reverse = reverse
    this.#limit = limit
  }

  /** The last seek() target was outside the range: every read ends until the next seek(). */
  get out(): boolean {
    return this.#out
  }

  /** The limit is reached. */
  done(): boolean {
    return this.#limit >= 0 && this.#yielded >= this.#limit
  }

  /** More entries may be read: not out of range, not at the end, not at the limit. */
  open(): boolean {
    return !this.#out && !this.#atEnd && !this.done()
  }

  /** Entries were yielded without their keys, so a new source could not tell where to continue. */
  unknown(): boolean {
    return this.#blind && this.#yielded > 0
  }

  /** `size`, or what is left of the limit if less. */
  cap(size: number): number {
    return this.#limit < 0 ? size : Math.min(size, this.#limit - this.#yielded)
  }

  /** What is left of the limit, `-1` for no limit. */
  remaining(): number {
    return this.#limit < 0 ? -1 : this.#limit - this.#yielded
  }

  /** `count` more entries were yielded to the caller. */
  yielded(count: number): void {
    this.#yielded += count
  }

  /** The caller was told about the end (until the next seek). */
  end(): void {
    this.#atEnd = true
  }

  /** Where a new source starts: the original range narrowed to the position, and the limit left. */
  start(): Start {
    return {
      range: this.#from === null ? this.#range : narrow(this.#range, this.#reverse, this.#from, this.#fromInclusive),
      limit: this.remaining(),
      original: this.#from === null
    }
  }

  /**
   * A source was dropped: continue after the last key it handed out (`null`: it handed out
   * none, the position stays), or not know where (`'blind'`).
   */
  leave(last: Buffer | null | 'blind'): void {
    if (last === 'blind') this.#blind = true
    else if (last !== null) {
      this.#from = last
      this.#fromInclusive = false
    }
  }

  /**
   * A seek to `target` begins: the end is forgotten. Returns false if `target` is outside the
   * range; then every read ends until the next seek (as memory-level and classic-level do).
   * Otherwise the position is known again, and the cursor lets its source follow (seeks it, or
   * drops it: {@link CursorPosition.leave}) before it calls {@link CursorPosition.land}.
   */
  seek(target: Buffer): boolean {
    this.#atEnd = false
    if (!inRange(this.#range, target)) {
      this.#out = true
      return false
    }
    this.#out = false
    this.#blind = false
    return true
  }

  /** The seek lands: the next entry is the first at or past `target` (in the cursor's direction). */
  land(target: Buffer): void {
    this.#from = target
    this.#fromInclusive = true
  }
}
