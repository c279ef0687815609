import { frameTooLarge, protocolError } from './errors.js'
import { cursor, readVarint } from './varint.js'

/** Default maximum frame size: 64 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024

/** Bytes of an oversized frame handed to `onOversize`: enough for its tag and `id` field. */
const OVERSIZE_HEAD = 16

/**
 * Called instead of failing when a frame is larger than the maximum: with the first bytes of
 * its body (at most 16: the tag byte and, in every message of this protocol, the `id` field)
 * and its announced length. The rest of the frame is then skipped without being buffered.
 */
export type OversizeHandler = (head: Buffer, length: number) => void

/**
 * Splits a byte stream into frames (a varint length prefix, then that many bytes). The length
 * is checked against `maxFrameSize` as soon as the prefix is complete, before any of the body
 * is buffered, so a peer cannot make us allocate what it announces. Frames that arrive whole
 * inside one chunk are delivered as views of it (no copy); a frame spread over chunks is
 * joined once, when its last byte arrives.
 */
export class FrameDecoder {
  readonly #max: number
  readonly #onFrame: (frame: Buffer) => void
  #parts: Buffer[] = []
  #partsLength = 0
  /** Total bytes (prefix + body) of the frame being collected, or -1 while its prefix is incomplete. */
  #needed = -1
  #failed = false
  readonly #onOversize: OversizeHandler | undefined
  /** Bytes of an oversized frame still to drop. */
  #skip = 0
  /** An oversized frame whose head is still being collected. */
  #oversize: { length: number; head: Buffer } | null = null

  /**
   * @param onFrame Called with each frame body (tag byte + message), in order.
   * @param maxFrameSize Largest body accepted; larger announcements throw `LEVEL_FRAME_TOO_LARGE`
   *   unless `onOversize` is given.
   * @param onOversize If given, an oversized frame is reported to it and skipped instead (its
   *   bytes are dropped as they arrive, never buffered), and the stream goes on.
   */
  constructor(onFrame: (frame: Buffer) => void, maxFrameSize = DEFAULT_MAX_FRAME_SIZE, onOversize?: OversizeHandler) {
    if (!Number.isSafeInteger(maxFrameSize) || maxFrameSize < 1) {
      throw new RangeError('maxFrameSize must be a positive integer')
    }
    this.#max = maxFrameSize
    this.#onFrame = onFrame
    this.#onOversize = onOversize
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#partsLength
  }

  /**
   * Feed bytes. Throws `LEVEL_FRAME_TOO_LARGE` or `LEVEL_PROTOCOL_ERROR`; after a throw the
   * decoder refuses further input (the connection is beyond repair).
   */
  push(chunk: Buffer): void {
    if (this.#failed) throw protocolError('Decoder already failed')
    try {
      if (this.#skip > 0 || this.#oversize !== null) {
        chunk = this.#drop(chunk)
        if (chunk.length === 0) return
      }
      if (this.#parts.length === 0) {
        this.#process(chunk)
        return
      }
      this.#parts.push(chunk)
      this.#partsLength += chunk.length
      // While the prefix is incomplete the parts hold fewer than 10 bytes, so joining is cheap.
      if (this.#needed !== -1 && this.#partsLength < this.#needed) return
      const joined = Buffer.concat(this.#parts, this.#partsLength)
      this.#parts = []
      this.#partsLength = 0
      this.#process(joined)
    } catch (err) {
      this.#failed = true
      this.#parts = []
      this.#partsLength = 0
      throw err
    }
  }

  /**
   * Drop the bytes of an oversized frame from the front of `chunk` (starting one of `length`
   * bytes if given), reporting its head once collected. Returns what follows the frame.
   */
  #drop(chunk: Buffer, length?: number): Buffer {
    if (length !== undefined) this.#oversize = { length, head: EMPTY }
    const pending = this.#oversize
    if (pending !== null) {
      const want = Math.min(OVERSIZE_HEAD, pending.length) - pending.head.length
      const take = chunk.subarray(0, want)
      pending.head = pending.head.length === 0 ? Buffer.from(take) : Buffer.concat([pending.head, take])
      chunk = chunk.subarray(take.length)
      if (take.length < want) return EMPTY
      this.#oversize = null
      this.#skip = pending.length - pending.head.length
      ;(this.#onOversize as OversizeHandler)(pending.head, pending.length)
    }
    if (chunk.length <= this.#skip) {
      this.#skip -= chunk.length
      return EMPTY
    }
    const rest = chunk.subarray(this.#skip)
    this.#skip = 0
    return rest
  }

  #process(buf: Buffer): void {
    let pos = 0
    while (pos < buf.length) {
      const length = readVarint(buf, pos, buf.length)
      if (length === -1) {
        this.#stash(buf, pos, -1)
        return
      }
      if (length === 0) throw protocolError('Empty frame')
      const start = cursor.offset
      if (length > this.#max) {
        if (this.#onOversize === undefined)
          throw frameTooLarge(`Peer announced a frame of ${length} bytes; the maximum is ${this.#max}`)
        const rest = this.#drop(buf.subarray(start), length)
        if (rest.length === 0) return
        buf = rest
        pos = 0
        continue
      }
      const end = start + length
      if (end > buf.length) {
        this.#stash(buf, pos, end - pos)
        return
      }
      this.#onFrame(buf.subarray(start, end))
      pos = end
    }
  }

  #stash(buf: Buffer, pos: number, needed: number): void {
    if (pos === buf.length) return
    const rest = buf.subarray(pos)
    this.#parts = [rest]
    this.#partsLength = rest.length
    this.#needed = needed
  }
}

const EMPTY = Buffer.alloc(0)
