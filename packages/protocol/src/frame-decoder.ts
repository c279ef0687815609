import { frameTooLarge, protocolError } from './errors.js'
import { cursor, readVarint } from './varint.js'

/** Default maximum frame size: 64 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024

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

  /**
   * @param onFrame Called with each frame body (tag byte + message), in order.
   * @param maxFrameSize Largest body accepted; larger announcements throw `LEVEL_FRAME_TOO_LARGE`.
   */
  constructor(onFrame: (frame: Buffer) => void, maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    if (!Number.isSafeInteger(maxFrameSize) || maxFrameSize < 1) {
      throw new RangeError('maxFrameSize must be a positive integer')
    }
    this.#max = maxFrameSize
    this.#onFrame = onFrame
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

  #process(buf: Buffer): void {
    let pos = 0
    while (pos < buf.length) {
      const length = readVarint(buf, pos, buf.length)
      if (length === -1) {
        this.#stash(buf, pos, -1)
        return
      }
      if (length > this.#max) throw frameTooLarge(length, this.#max)
      if (length === 0) throw protocolError('Empty frame')
      const start = cursor.offset
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
    const rest = buf.subarray(pos)
    this.#parts = [rest]
    this.#partsLength = rest.length
    this.#needed = needed
  }
}
