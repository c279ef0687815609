import { ENTRIES, encodeInput, Input, KEYS, rangeBounds, remoteError } from '@rave-level/protocol'
import { protocolError } from './errors.js'
import { fromBytes } from './formats.js'
import type { Route } from './in-flight.js'
import type { Shape, Source, SourceOwner, Start } from './source.js'

/** Messages buffered from a host before we stop acknowledging them on receipt. */
const WINDOW = 4

/** The connection a remote source reads on (the host link it was opened on). */
export interface RemoteLink {
  queue(frame: Buffer): void
  allocId(): number
  route(id: number, route: Route | null): void
}

/**
 * A host iterator on the current connection, read ahead with many-level's flow control (see
 * {@link RemoteSource.take} and `#payAcks`). Keys are asked for whenever the position may be
 * needed (always with retry), even when the caller does not want them. Routed by its host
 * iterator id; data of an older seek generation (`seq`) is ignored.
 */
export class RemoteSource implements Source, Route {
  readonly original: boolean
  readonly #owner: SourceOwner
  readonly #link: RemoteLink
  readonly #shape: Shape
  readonly #askKeys: boolean
  readonly #stride: number
  readonly #limit: number
  readonly #id: number
  #seq = 0
  #chunks: Uint8Array[][] = []
  #head = 0
  #offset = 0
  #buffered = 0
  #taken = 0
  /** Messages received and not acknowledged yet. */
  #owed = 0
  /** The caller read from it (since it was opened or last seeked). */
  #started = false
  #ended = false
  #error: { code: string; message: string | undefined } | null = null
  #last: Uint8Array | undefined
  #closed = false

  constructor(owner: SourceOwner, link: RemoteLink, shape: Shape, start: Start, askKeys: boolean, snapshot?: number) {
    this.#owner = owner
    this.#link = link
    this.#shape = shape
    this.original = start.original
    this.#askKeys = askKeys
    this.#stride = (askKeys ? 1 : 0) + (shape.wantValues ? 1 : 0)
    this.#limit = start.limit
    this.#id = link.allocId()
    link.route(this.#id, this)
    link.queue(
      encodeInput(Input.iterator, {
        id: this.#id,
        seq: 0,
        // Always send limit, keys, values and reverse: many-level's decoder fills absent
        // numbers and booleans with 0 and false.
        options: {
          keys: askKeys,
          values: shape.wantValues,
          ...rangeBounds(start.range),
          limit: start.limit,
          reverse: shape.reverse
        },
        consumed: 0,
        snapshot
      })
    )
  }

  get ended(): boolean {
    return this.#ended
  }

  get failure(): Error | null {
    return this.#error === null ? null : remoteError(this.#error.code, this.#error.message)
  }

  available(): number {
    return this.#buffered
  }

  /**
   * Move up to `size` buffered items to `out`, in the caller's formats. Taking pays the acks
   * the host waits for: it keeps sending while at most one `IteratorData` is unacknowledged, so
   * acknowledging a message lets it send one more. We acknowledge on receipt while fewer than
   * {@link WINDOW} messages are buffered here, and otherwise as the caller consumes them: a fast
   * reader streams at the host's pace, an idle one stops the host after a bounded read-ahead.
   * The first message (one entry, as many-level's host sends to serve early termination
   * cheaply) is only acknowledged once the caller reads from it.
   */
  take(size: number, out: unknown[]): void {
    const chunks = this.#chunks
    const askKeys = this.#askKeys
    const valueAt = askKeys ? 1 : 0
    const stride = this.#stride
    const { mode, wantKeys, wantValues, keyFormat, valueFormat } = this.#shape
    const start = out.length
    const end = start + size
    let key: Uint8Array | undefined
    while (out.length < end && this.#head < chunks.length) {
      const chunk = chunks[this.#head] as Uint8Array[]
      let i = this.#offset
      for (; i < chunk.length && out.length < end; i += stride) {
        key = askKeys ? chunk[i] : undefined
        const k = wantKeys ? fromBytes(key as Uint8Array, keyFormat) : undefined
        const v = wantValues ? fromBytes(chunk[i + valueAt] as Uint8Array, valueFormat) : undefined
        out.push(mode === ENTRIES ? [k, v] : mode === KEYS ? k : v)
      }
      if (i >= chunk.length) {
        this.#head++
        this.#offset = 0
      } else {
        this.#offset = i
      }
    }
    if (this.#head === chunks.length) {
      this.#chunks = []
      this.#head = 0
    }
    const n = out.length - start
    if (n === 0) return
    this.#taken += n
    this.#buffered -= n
    this.#started = true
    if (askKeys) this.#last = key
    this.#payAcks()
  }

  want(): void {
    // Data streams by itself under flow control.
  }

  #payAcks(): void {
    // With a limit, entries received beyond it are of no use: ask for no more.
    if (this.#limit >= 0 && this.#taken + this.#buffered >= this.#limit) return
    while (this.#owed > 0 && this.#started && this.#chunks.length - this.#head < WINDOW) {
      this.#owed--
      this.#link.queue(encodeInput(Input.iteratorAck, { id: this.#id, seq: this.#seq, consumed: this.#taken }))
    }
  }

  discard(): void {
    // The next seek's generation: whatever the host still sends for the old one is ignored.
    this.#seq++
    this.#clear()
    this.#last = undefined
  }

  seek(target: Buffer): void {
    this.#clear()
    this.#last = undefined
    this.#link.queue(encodeInput(Input.iteratorSeek, { id: this.#id, seq: ++this.#seq, target }))
  }

  lastKey(): Buffer | null | 'blind' {
    if (this.#last !== undefined) return this.#last as Buffer
    return this.#taken > 0 && !this.#askKeys ? 'blind' : null
  }

  /** Stop: tell the host, unless the connection is gone already (`quiet`). */
  close(quiet = false): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#link.route(this.#id, null)
      if (!quiet) this.#link.queue(encodeInput(Input.iteratorClose, { id: this.#id }))
      this.#clear()
    }
    return Promise.resolve()
  }

  #clear(): void {
    this.#chunks = []
    this.#head = 0
    this.#offset = 0
    this.#buffered = 0
    this.#owed = 0
    this.#started = false
    this.#ended = false
    this.#error = null
  }

  // ---- Messages from the host ------------------------------------------------------------

  onData(seq: number, data: Uint8Array[]): void {
    if (seq !== this.#seq || data.length === 0 || this.#closed) return
    if (data.length % this.#stride !== 0) {
      // Thrown from the frame handler, this fails the connection (and we resume elsewhere).
      throw protocolError('IteratorData does not hold whole entries')
    }
    this.#chunks.push(data)
    this.#buffered += data.length / this.#stride
    this.#owed++
    this.#owner.ready()
    this.#payAcks()
  }

  onEnd(seq: number): void {
    if (seq !== this.#seq || this.#closed) return
    this.#ended = true
    this.#owner.ready()
  }

  onError(seq: number, code: string, message?: string): void {
    if (seq !== this.#seq || this.#closed) return
    this.#error = { code, message }
    this.#owner.ready()
  }
}
