import { Duplex } from 'node:stream'
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder, type OversizeHandler } from './frame-decoder.js'

/** Options of {@link RpcStream}. */
export interface RpcStreamOptions {
  /** Called with each incoming frame body (tag byte + message). May throw to fail the stream. */
  onFrame: (frame: Buffer) => void
  /** Largest incoming frame accepted. Default 64 MiB. */
  maxFrameSize?: number | undefined
  /** Bytes of outgoing data buffered before `send()` returns `false` (and, with `holdInput`, before we stop reading input). Default 1 MiB. */
  highWaterMark?: number | undefined
  /**
   * Stop reading input while our output is above the high-water mark (default `true`). Right
   * for a host: a guest that does not read its replies gets no more of its requests served.
   * Wrong for a guest: input holds the replies to requests it sent, and a guest that stopped
   * reading them while the host stops reading requests would deadlock with it.
   */
  holdInput?: boolean | undefined
  /**
   * If given, an incoming frame over `maxFrameSize` is reported here and skipped (see
   * `FrameDecoder`) instead of destroying the stream.
   */
  onOversize?: OversizeHandler | undefined
  /**
   * Called when output is below the high-water mark again and the peer may take more (when the
   * readable side asks for data, or a flush was taken without filling it). Lets an owner that
   * holds work back while output is full resume it. Must not throw.
   */
  onOutputDrain?: (() => void) | undefined
}

/**
 * The byte-level half of a many-level connection, shared by host and guest: a `Duplex` whose
 * writable side takes bytes from the peer and whose readable side yields bytes for it.
 *
 * - Incoming bytes are split into frames by a {@link FrameDecoder}; a frame or decoding error
 *   destroys this stream (and only this stream) with that error.
 * - {@link RpcStream.send} queues a frame; every frame queued in the same tick leaves in one
 *   chunk, so a burst of small operations costs one socket write.
 * - Backpressure: while the peer does not read our output, we stop accepting its input (the
 *   write callback is held until our readable side drains). Memory per connection is thus
 *   bounded by the high-water marks plus one frame.
 * - When the peer ends its side, we end ours after flushing.
 */
export class RpcStream extends Duplex {
  readonly #decoder: FrameDecoder
  #out: Buffer[] = []
  #outLength = 0
  #scheduled = false
  #held: ((err?: Error | null) => void) | null = null
  #inputPaused = false
  /**
   * The readable side asked for data (`_read()`) and we have pushed nothing since. Node asks
   * once and then waits for a push, so until one comes our output is not "full", whatever
   * `readableLength` says (it asks while the chunk it is taking still counts): holding input
   * then, with nothing to push, would wait forever.
   */
  #readWanted = false
  readonly #holdInput: boolean
  readonly #onOutputDrain: (() => void) | undefined
  readonly #flush = () => this.#flushNow()
  /** A flush is scheduled with `setImmediate` (for frames sent `later`). */
  #later = false
  readonly #flushLater = () => {
    this.#later = false
    this.#flushNow()
  }

  constructor(options: RpcStreamOptions) {
    const hwm = options.highWaterMark ?? 1024 * 1024
    super({ readableHighWaterMark: hwm, writableHighWaterMark: 64 * 1024, allowHalfOpen: false })
    this.#decoder = new FrameDecoder(
      options.onFrame,
      options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      options.onOversize
    )
    this.#holdInput = options.holdInput ?? true
    this.#onOutputDrain = options.onOutputDrain
  }

  /** Bytes of incoming data held while waiting for the rest of a frame. */
  get bufferedInput(): number {
    return this.#decoder.buffered
  }

  /** Bytes queued or buffered for the peer and not yet read by it. */
  get bufferedOutput(): number {
    return this.#outLength + this.readableLength
  }

  /**
   * Queue one encoded frame for the peer. Frames queued in the same tick are written together.
   * Returns `false` once output is buffered beyond the high-water mark (a hint to slow down);
   * the frame is queued regardless. Ignored after the stream was destroyed or ended.
   *
   * A frame sent `later` (one nobody waits for, such as a watch's changes) leaves once this
   * turn of the event loop is done (`setImmediate`), after what other streams send at once in
   * it (the answers their peers wait for), unless this stream sends something at once
   * meanwhile: frames always leave in the order they were sent.
   */
  send(frame: Buffer, later = false): boolean {
    if (this.destroyed || this.readableEnded) return false
    this.#out.push(frame)
    this.#outLength += frame.length
    if (!later) {
      if (!this.#scheduled) {
        this.#scheduled = true
        process.nextTick(this.#flush)
      }
    } else if (!this.#scheduled && !this.#later) {
      this.#later = true
      setImmediate(this.#flushLater)
    }
    return this.bufferedOutput < this.readableHighWaterMark
  }

  /**
   * Stop accepting input from the peer after the chunk being processed, until
   * {@link RpcStream.resumeInput}. Frames of a chunk already being decoded are still delivered.
   * Used by a host to cap the operations in flight per connection.
   */
  pauseInput(): void {
    this.#inputPaused = true
  }

  /** Accept input again after {@link RpcStream.pauseInput} (unless output is over the high-water mark). */
  resumeInput(): void {
    if (!this.#inputPaused) return
    this.#inputPaused = false
    if (!this.#outputFull()) this.#release()
  }

  #outputFull(): boolean {
    return this.#holdInput && !this.#readWanted && this.bufferedOutput >= this.readableHighWaterMark
  }

  #flushNow(): void {
    this.#scheduled = false
    if (this.#out.length === 0 || this.destroyed) return
    const chunk = this.#out.length === 1 ? (this.#out[0] as Buffer) : Buffer.concat(this.#out, this.#outLength)
    this.#out = []
    this.#outLength = 0
    this.#readWanted = false
    // Below the high-water mark the readable side asks for nothing more, so resume input here.
    if (this.push(chunk)) this.#drained()
  }

  #drained(): void {
    this.#release()
    this.#onOutputDrain?.()
  }

  #release(): void {
    if (this.#inputPaused) return
    const held = this.#held
    if (held !== null) {
      this.#held = null
      held()
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    try {
      this.#decoder.push(chunk)
    } catch (err) {
      callback(err as Error)
      return
    }
    if (this.#inputPaused || this.#outputFull()) this.#held = callback
    else callback()
  }

  override _read(): void {
    this.#readWanted = true
    this.#drained()
  }

  override _final(callback: (err?: Error | null) => void): void {
    // The peer will send nothing more. Flush what we have and end our side too.
    this.#flushNow()
    this.push(null)
    callback()
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#out = []
    this.#outLength = 0
    const held = this.#held
    this.#held = null
    if (held !== null) held(err)
    callback(err)
  }
}
