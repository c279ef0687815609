import type { RpcStream } from '@rave-level/protocol'

/** The bounds of one connection (see `LevelHostOptions`). */
export interface AdmissionLimits {
  readonly maxInFlight: number
  readonly maxInFlightBytes: number
}

/**
 * Which requests of one connection may start, to keep its memory bounded: one starts only
 * while fewer than `maxInFlight` operations (each key of a getMany and each operation of a
 * batch counts) and `maxInFlightBytes` bytes of requests run, and the guest reads its replies.
 * Otherwise the frame, and every frame after it, is parked in order and the stream stops
 * taking input until operations settle or output drains: a guest that floods requests or stops
 * reading is throttled by its own socket. Parked frames are views of the chunk being decoded.
 */
export class Admission {
  readonly #limits: AdmissionLimits
  readonly #stream: RpcStream
  readonly #handle: (frame: Buffer) => void
  #parked: (Buffer | undefined)[] = []
  #head = 0
  #unparking = false
  #inFlight = 0
  #inFlightBytes = 0
  #stopped = false
  /**
   * Output reached the high-water mark (a send said so) and the stream has not asked for more
   * since. A flag rather than a look at `bufferedOutput`: the stream asks for more while the
   * chunk it is about to hand over still counts as buffered, and it asks only once.
   */
  outputFull = false

  /** @param handle Starts one request; may throw (the stream is then destroyed). */
  constructor(limits: AdmissionLimits, stream: RpcStream, handle: (frame: Buffer) => void) {
    this.#limits = limits
    this.#stream = stream
    this.#handle = handle
  }

  /** Something runs or waits for us. */
  get busy(): boolean {
    return this.#inFlight > 0 || this.#head < this.#parked.length
  }

  /** A request arrived: start it, or park it (and every one after it) until there is room. */
  offer(frame: Buffer): void {
    if (this.#stopped) return
    if (this.#head < this.#parked.length || !this.#hasRoom()) {
      this.#parked.push(frame)
      this.#stream.pauseInput()
      return
    }
    this.#handle(frame)
  }

  /** `n` operations of `bytes` request bytes start. */
  begin(n: number, bytes: number): void {
    this.#inFlight += n
    this.#inFlightBytes += bytes
  }

  /** Operations settled (their replies queued): take parked frames if there is room again. */
  end(n: number, bytes: number): void {
    this.#inFlight -= n
    this.#inFlightBytes -= bytes
    if (this.#head < this.#parked.length) this.#unpark()
    if (this.#inFlight === 0 && this.#settled.length > 0) {
      const settled = this.#settled
      this.#settled = []
      for (const resolve of settled) resolve()
    }
  }

  /** Resolves once no operation runs (every one begun has ended). */
  settled(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#settled.push(resolve))
  }

  #settled: (() => void)[] = []

  /** Output drained below the high-water mark. */
  drained(): void {
    this.outputFull = false
    if (this.#head < this.#parked.length) this.#unpark()
  }

  /**
   * Take no more requests: forget what is parked and ignore what arrives from now on (input
   * flows again, to be discarded). Nothing of it ever runs: the guest, which gets no answer,
   * sends it again to whoever serves next.
   */
  stop(): void {
    this.#stopped = true
    const parked = this.#head < this.#parked.length
    this.#parked = []
    this.#head = 0
    if (parked && !this.#stream.destroyed) this.#stream.resumeInput()
  }

  /** A request larger than the byte bound still starts once nothing else runs. */
  #hasRoom(): boolean {
    const limits = this.#limits
    return (
      this.#inFlight < limits.maxInFlight &&
      (this.#inFlightBytes === 0 || this.#inFlightBytes < limits.maxInFlightBytes) &&
      !this.outputFull
    )
  }

  /** Handle parked frames while there is room, then take input again. */
  #unpark(): void {
    if (this.#unparking) return
    this.#unparking = true
    try {
      while (!this.#stream.destroyed && this.#head < this.#parked.length && this.#hasRoom()) {
        const frame = this.#parked[this.#head] as Buffer
        this.#parked[this.#head++] = undefined
        this.#handle(frame)
      }
    } catch (err) {
      this.#stream.destroy(err as Error)
      return
    } finally {
      this.#unparking = false
    }
    if (this.#head === this.#parked.length && this.#head > 0) {
      this.#parked = []
      this.#head = 0
      this.#stream.resumeInput()
    }
  }
}
