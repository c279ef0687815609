import {
  ENTRIES,
  encodeInput,
  Input,
  type IteratorMode,
  inRange,
  KEYS,
  type KeyRange,
  narrow,
  PROTOCOL_ERROR,
  rangeBounds,
  remoteError,
  VALUES
} from '@rave-level/protocol'
import type { ForwardTarget, LocalIterator, Sequencer } from '@rave-level/store'
import ModuleError from 'module-error'
import { aborted, connectionLost, notOpen } from './errors.js'
import { fromBytes, own, toBytes } from './formats.js'
import type { Route } from './host-link.js'
import { type RangeInput, toRange } from './range.js'


/**
 * What a cursor needs from its guest. The guest owns the connection; a cursor only ever
 * talks to the host of the current connection. @internal
 */
export interface CursorPort {
  readonly retry: boolean
  /** How operations travel right now. */
  link(): 'detached' | 'attached' | 'forwarded'
  /** True when reads must fail with `LEVEL_CONNECTION_LOST` (lost connection, no retry). */
  lost(): boolean
  /** True when the guest is not open (closing or closed). */
  closing(): boolean
  send(frame: Buffer): void
  allocId(): number
  route(id: number, cursor: Route | null): void
  local(): { db: ForwardTarget; sequencer: Sequencer } | null
  /** True while an operation issued before `order` must finish before this one may start. */
  held(order: number): boolean
  /** A read started (+1) or stopped (-1) waiting for the host. */
  waiting(delta: 1 | -1): void
  forget(cursor: GuestCursor): void
}

/** Options as abstract-level hands them to `_iterator()`, `_keys()` and `_values()`. */
export interface CursorOptions {
  gt?: unknown
  gte?: unknown
  lt?: unknown
  lte?: unknown
  reverse: boolean
  limit: number
  keys?: boolean
  values?: boolean
  signal?: AbortSignal | null
  /** Format of keys (range options and output): `'buffer'`, `'view'` or `'utf8'`. */
  keyEncoding: string
  /** Format of values. */
  valueEncoding?: string
}

interface Waiter {
  size: number
  /** Items already taken for this read (they count as yielded). */
  items: unknown[]
  resolve: (items: unknown[]) => void
  reject: (err: Error) => void
  time: number
}

const NONE = 0
const REMOTE = 1
const LOCAL = 2
const BUFFER_KEY = Object.freeze({ keyEncoding: 'buffer' as const })
/** Messages buffered from a host before we stop acknowledging them on receipt. */
const WINDOW = 4
/** Most entries read ahead from a local iterator at once. */
const MAX_AHEAD = 1024
const noop = () => {}
const NO_ITEM = Symbol('none')

/**
 * The resumable state of one iterator, independent of where its data comes from.
 *
 * The cursor remembers where the caller is: nothing read yet, just after the last key it
 * yielded, or at a seek target; plus how many entries it yielded. Whenever it needs a new
 * source (a new connection, `forward()`, a seek that the current source cannot serve) it
 * opens one on the original range NARROWED to that position, with the remaining limit. This
 * works against any many-level host: we never rely on the host's bookmark support (many-level
 * 2 resumes a reverse iterator from the wrong key when keys share a prefix).
 *
 * From a host it reads ahead with many-level's flow control (see `#payAcks`), and `nextv()`
 * takes whole runs of buffered entries at once. Data buffered from a lost connection is
 * discarded and fetched again.
 */
export class GuestCursor implements Route {
  readonly order: number
  readonly #port: CursorPort
  readonly #mode: IteratorMode
  readonly #wantKeys: boolean
  readonly #wantValues: boolean
  /** What we ask the host for: keys whenever we may need to resume. */
  readonly #askKeys: boolean
  readonly #askValues: boolean
  readonly #stride: number
  readonly #keyFormat: string
  readonly #valueFormat: string
  readonly #reverse: boolean
  readonly #limit: number
  readonly #range: KeyRange
  /** The range options as given, in the key format. */
  readonly #rangeInput: RangeInput
  readonly #signal: AbortSignal | null

  // Position.
  #from: Buffer | null = null
  #fromInclusive = false
  /** The last seek() target was out of range: at the end until the next seek(). */
  #out = false
  /** Entries were yielded without their keys, so the position is unknown. */
  #blind = false
  /** The caller has been told about the end (cleared by seek()). */
  #atEnd = false
  #yielded = 0

  // Source.
  #source = NONE

  // Remote source: one host iterator on the current connection.
  #hostId = 0
  #seq = 0
  /** The host iterator covers the original range, so a seek can go to the host. */
  #original = false
  /** #yielded when the host iterator was opened (its limit and acks are relative to it). */
  #base = 0
  #chunks: Uint8Array[][] = []
  #head = 0
  #offset = 0
  #ended = false
  #error: string | null = null
  #errorMessage: string | undefined
  /** Entries received and not yet taken. */
  #buffered = 0
  /** Messages received and not acknowledged yet. */
  #owed = 0
  /** The caller read from this host iterator (since it was opened or last seeked). */
  #started = false

  // Local source (after forward()), read ahead into #localItems.
  #local: Promise<LocalIterator> | null = null
  #localOriginal = false
  /** The last item yielded from the local source, whose key is the position (read lazily). */
  #localLast: unknown = NO_ITEM
  #localItems: unknown[] = []
  #localPos = 0
  #ahead = 16

  #failed: Error | null = null
  #closed = false
  #waiter: Waiter | null = null
  readonly #onAbort = () => this.abort(aborted(this.#signal?.reason))

  constructor(port: CursorPort, mode: IteratorMode, options: CursorOptions, order: number) {
    this.order = order
    this.#port = port
    this.#mode = mode
    this.#wantKeys = mode === KEYS || (mode === ENTRIES && options.keys !== false)
    this.#wantValues = mode === VALUES || (mode === ENTRIES && options.values !== false)
    this.#askKeys = this.#wantKeys || port.retry || !this.#wantValues
    this.#askValues = this.#wantValues
    this.#stride = (this.#askKeys ? 1 : 0) + (this.#askValues ? 1 : 0)
    this.#keyFormat = options.keyEncoding
    this.#valueFormat = options.valueEncoding ?? 'utf8'
    this.#reverse = !!options.reverse
    this.#limit = options.limit
    this.#range = toRange(options)
    this.#rangeInput = {}
    // Copies: the caller may reuse its buffers, and a resumed or local source needs the range.
    for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (options[k] != null) this.#rangeInput[k] = own(options[k])
    this.#signal = options.signal ?? null
  }

  /** Open a source right away if there is one, so the first entry is on its way. */
  start(): void {
    if (this.#port.held(this.order)) return
    const link = this.#port.link()
    if (link === 'attached') this.#openRemote()
    else if (link === 'forwarded') this.#openLocal()
  }

  // ---- Reads ---------------------------------------------------------------------------

  /**
   * Up to `size` (>= 1) items, fewer only at the end; an empty array at the end. Waits for
   * the host until it has `size` items, as abstract-level's contract asks.
   */
  nextv(size: number): Promise<unknown[]> {
    if (this.#failed !== null) return Promise.reject(this.#failed)
    if (this.#port.closing()) return Promise.reject(notOpen())
    if (this.#out || this.#done()) return Promise.resolve([])
    switch (this.#source) {
      case REMOTE: {
        const items: unknown[] = []
        if (this.#head < this.#chunks.length) {
          this.#take(size, items)
          if (items.length === size || this.#ended || this.#error !== null) return Promise.resolve(items)
        } else if (this.#error !== null) {
          return Promise.reject(this.#fail(remoteError(this.#error, this.#errorMessage)))
        } else if (this.#ended) {
          this.#atEnd = true
          return Promise.resolve(items)
        }
        return this.#wait(size, items)
      }
      case LOCAL:
        return this.#readLocal(size)
    }
    const link = this.#port.link()
    if (link === 'attached' && !this.#port.held(this.order)) {
      this.#openRemote()
      return this.#wait(size, [])
    }
    if (link === 'forwarded') {
      this.#openLocal()
      return this.#readLocal(size)
    }
    if (this.#port.lost()) return Promise.reject(this.#fail(connectionLost()))
    return this.#wait(size, [])
  }

  /** The next item, or `undefined` at the end. */
  next(): Promise<unknown> {
    if (this.#failed === null && !this.#out) {
      if (this.#source === REMOTE && this.#head < this.#chunks.length) return Promise.resolve(this.#take(1, [])[0])
      if (this.#source === LOCAL && this.#localPos < this.#localItems.length) {
        this.#yielded++
        const item = this.#localItems[this.#localPos++]
        this.#localLast = item
        return Promise.resolve(this.#fromLocal(item))
      }
    }
    return this.nextv(1).then(first)
  }

  #done(): boolean {
    return this.#limit >= 0 && this.#yielded >= this.#limit
  }

  /** Wait for the host; `items` holds what was already taken for this read. */
  #wait(size: number, items: unknown[]): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve, reject) => {
      this.#waiter = { size, items, resolve, reject, time: Date.now() }
      this.#port.waiting(1)
      this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
    })
  }

  #settle(result: unknown[] | Error): void {
    const waiter = this.#waiter
    if (waiter === null) return
    this.#waiter = null
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#port.waiting(-1)
    if (result instanceof Error) waiter.reject(result)
    else waiter.resolve(result)
  }

  /** Serve the waiting read, if any, from what the host sent. */
  #serve(): void {
    const waiter = this.#waiter
    if (waiter === null) return
    const items = waiter.items
    if (this.#head < this.#chunks.length) this.#take(waiter.size - items.length, items)
    if (items.length === waiter.size || ((this.#ended || this.#error !== null) && items.length > 0)) {
      this.#settle(items)
    } else if (this.#error !== null) {
      this.#settle(this.#fail(remoteError(this.#error, this.#errorMessage)))
    } else if (this.#ended) {
      this.#atEnd = true
      this.#settle(items)
    }
  }

  /** Move up to `size` buffered items to `out` (at least one is buffered). */
  #take(size: number, out: unknown[]): unknown[] {
    const chunks = this.#chunks
    const askKeys = this.#askKeys
    const valueAt = askKeys ? 1 : 0
    const stride = this.#stride
    const mode = this.#mode
    const keyFormat = this.#wantKeys ? this.#keyFormat : ''
    const valueFormat = this.#wantValues ? this.#valueFormat : ''
    const start = out.length
    const end = start + size
    let key: Uint8Array | undefined
    while (out.length < end && this.#head < chunks.length) {
      const chunk = chunks[this.#head] as Uint8Array[]
      let i = this.#offset
      for (; i < chunk.length && out.length < end; i += stride) {
        key = askKeys ? chunk[i] : undefined
        const k = keyFormat === '' ? undefined : fromBytes(key as Uint8Array, keyFormat)
        const v = valueFormat === '' ? undefined : fromBytes(chunk[i + valueAt] as Uint8Array, valueFormat)
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
    this.#yielded += out.length - start
    this.#buffered -= out.length - start
    this.#started = true
    this.#payAcks()
    if (askKeys) {
      this.#from = key as Buffer
      this.#fromInclusive = false
    } else {
      this.#blind = true
    }
    return out
  }

  /**
   * Flow control. The host keeps sending while at most one `IteratorData` is unacknowledged,
   * so acknowledging a message lets it send one more. We acknowledge on receipt while fewer
   * than {@link WINDOW} messages are buffered here, and otherwise as the caller consumes them:
   * reading streams at the host's pace, a caller that stops reading stops the host after a
   * bounded read-ahead. The first message (one entry, as many-level's host sends to serve
   * early termination cheaply) is only acknowledged once the caller reads from it.
   */
  #payAcks(): void {
    // With a limit, entries received beyond it are of no use: ask for no more.
    if (this.#limit >= 0 && this.#yielded + this.#buffered >= this.#limit) return
    while (this.#owed > 0 && this.#started && this.#chunks.length - this.#head < WINDOW) {
      this.#owed--
      this.#port.send(
        encodeInput(Input.iteratorAck, { id: this.#hostId, seq: this.#seq, consumed: this.#yielded - this.#base })
      )
    }
  }

  /**
   * Read from the local iterator. It is read ahead in growing chunks (like classic-level's
   * own iterator does natively), so that `next()` mostly costs no call into the database. Like
   * a remote read, it returns fewer than `size` items only at the end.
   */
  #readLocal(size: number): Promise<unknown[]> {
    if (this.#localItems.length - this.#localPos >= size) return Promise.resolve(this.#takeLocal(size))
    return this.#fetchLocal(size)
  }

  async #fetchLocal(size: number): Promise<unknown[]> {
    // `out` stays null until something is taken, so that the common case (nothing buffered,
    // one fetch) hands the database's own array over without copying it item by item.
    const buffered = this.#takeLocal(size)
    let out: unknown[] | null = buffered.length > 0 ? buffered.slice() : null
    while ((out?.length ?? 0) < size) {
      const have = out?.length ?? 0
      const local = this.#local
      if (local === null) {
        // The local source went away meanwhile (unforward()): continue on the next one.
        const rest = await this.nextv(size - have)
        return out === null ? rest : out.concat(rest)
      }
      const it = await local
      const wanted = Math.max(size - have, this.#ahead)
      const items = await it.nextv(this.#limit < 0 ? wanted : Math.min(wanted, this.#limit - this.#yielded))
      if (this.#local !== local) {
        // Let go of meanwhile: these items are not the caller's; the next source reads them.
        const rest = await this.nextv(size - have)
        return out === null ? rest : out.concat(rest)
      }
      // Aborted meanwhile: abstract-level rejects every later read, so these are not needed.
      if (this.#signal?.aborted) throw aborted(this.#signal.reason)
      this.#ahead = Math.min(this.#ahead * 2, MAX_AHEAD)
      this.#localItems = items
      this.#localPos = 0
      if (items.length === 0) break
      const taken = this.#takeLocal(size - have)
      // `taken` may be `items` itself; a later fetch replaces #localItems before pushing to it.
      if (out === null) out = taken
      else for (const item of taken) out.push(item)
    }
    if (out === null || out.length === 0) {
      this.#atEnd = true
      return []
    }
    return out
  }

  #takeLocal(size: number): unknown[] {
    const items = this.#localItems
    const start = this.#localPos
    const end = Math.min(items.length, start + size)
    this.#localPos = end
    this.#yielded += end - start
    if (end > start) this.#localLast = items[end - 1]
    if (this.#localOriginal) return start === 0 && end === items.length ? items : items.slice(start, end)
    const out = new Array(end - start)
    for (let i = start; i < end; i++) out[i - start] = this.#fromLocal(items[i])
    return out
  }

  /** An item of the local iterator in the caller's formats (converted if it reads buffers). */
  #fromLocal(item: unknown): unknown {
    if (this.#localOriginal) return item
    const mode = this.#mode
    if (mode === KEYS) return fromBytes(item as Uint8Array, this.#keyFormat)
    if (mode === VALUES) return fromBytes(item as Uint8Array, this.#valueFormat)
    const [key, value] = item as [Uint8Array | undefined, Uint8Array | undefined]
    return [
      key === undefined ? undefined : fromBytes(key, this.#keyFormat),
      value === undefined ? undefined : fromBytes(value, this.#valueFormat)
    ]
  }

  // ---- Messages from the host (routed by host iterator id) -----------------------------

  onData(seq: number, data: Uint8Array[]): void {
    if (seq !== this.#seq || data.length === 0) return
    if (data.length % this.#stride !== 0) {
      // Thrown from the frame handler, this fails the connection (and we resume elsewhere).
      throw new ModuleError('IteratorData does not hold whole entries', { code: PROTOCOL_ERROR })
    }
    this.#chunks.push(data)
    this.#buffered += data.length / this.#stride
    this.#owed++
    if (this.#waiter !== null) this.#serve()
    this.#payAcks()
  }

  onEnd(seq: number): void {
    if (seq !== this.#seq) return
    this.#ended = true
    if (this.#waiter !== null) this.#serve()
  }

  onError(seq: number, code: string, message?: string): void {
    if (seq !== this.#seq) return
    this.#error = code
    this.#errorMessage = message
    if (this.#waiter !== null) this.#serve()
  }

  // ---- Sources -------------------------------------------------------------------------

  /** The range and limit a new source must have to continue where the caller is. */
  /**
   * Take the position from the last item yielded by the local source, which reads keys unless
   * it is a values iterator (then the position is unknown: blind). Done lazily, when a new
   * source needs it, not per item.
   */
  #settlePosition(): void {
    const item = this.#localLast
    if (item === NO_ITEM) return
    this.#localLast = NO_ITEM
    if (this.#mode === VALUES) {
      this.#blind = true
      return
    }
    this.#from = toBytes(this.#mode === KEYS ? item : (item as unknown[])[0])
    this.#fromInclusive = false
  }

  #rest(): { range: KeyRange; limit: number } {
    this.#settlePosition()
    const range = this.#from === null ? this.#range : narrow(this.#range, this.#reverse, this.#from, this.#fromInclusive)
    return { range, limit: this.#limit < 0 ? -1 : this.#limit - this.#yielded }
  }

  #wantsData(): boolean {
    return !this.#closed && this.#failed === null && !this.#out && !this.#atEnd && !this.#done()
  }

  #openRemote(): void {
    const port = this.#port
    const { range, limit } = this.#rest()
    const id = port.allocId()
    this.#source = REMOTE
    this.#hostId = id
    this.#seq = 0
    this.#original = this.#from === null
    this.#base = this.#yielded
    this.#clearBuffer()
    port.route(id, this)
    port.send(
      encodeInput(Input.iterator, {
        id,
        seq: 0,
        // Always send limit, keys, values and reverse: many-level's decoder fills absent
        // numbers and booleans with 0 and false.
        options: { keys: this.#askKeys, values: this.#askValues, ...rangeBounds(range), limit, reverse: this.#reverse },
        consumed: 0
      })
    )
  }

  #openLocal(): void {
    const local = this.#port.local()
    if (local === null) return
    const { range } = this.#rest()
    // On its original range, the local iterator reads in the caller's formats (no conversion);
    // narrowed to a position, which we hold as bytes, it reads buffers that we convert. It has
    // no limit: it reads ahead, and its own count would include entries the caller never got
    // (a seek could then not go back). Reads ahead stop at the caller's remaining limit.
    const original = this.#from === null
    const options = {
      ...(original ? this.#rangeInput : rangeBounds(range)),
      limit: -1,
      reverse: this.#reverse,
      keys: this.#wantKeys,
      values: this.#wantValues,
      keyEncoding: original ? this.#keyFormat : 'buffer',
      valueEncoding: original ? this.#valueFormat : 'buffer'
    }
    const { db, sequencer } = local
    const mode = this.#mode
    this.#source = LOCAL
    this.#localOriginal = original
    this.#clearLocal()
    // Created in sequence, so that it sees exactly the writes issued before it.
    const it = sequencer.read(async () =>
      mode === KEYS ? db.keys(options) : mode === VALUES ? db.values(options) : db.iterator(options)
    )
    it.catch(noop)
    this.#local = it
    const waiter = this.#waiter
    if (waiter !== null) {
      // A read that was waiting for a host continues here.
      const done = waiter.items
      this.#readLocal(waiter.size - done.length).then(
        (items) => this.#settle(done.concat(items)),
        (err: Error) => this.#settle(done.length > 0 ? done : err)
      )
    }
  }

  #clearLocal(): void {
    this.#localItems = []
    this.#localPos = 0
    this.#ahead = 16
  }

  #clearBuffer(): void {
    this.#chunks = []
    this.#buffered = 0
    this.#head = 0
    this.#offset = 0
    this.#ended = false
    this.#error = null
    this.#errorMessage = undefined
    this.#owed = 0
    this.#started = false
  }

  /** Let go of the current source. Returns once a local iterator is closed. */
  #drop(): Promise<void> {
    const source = this.#source
    this.#source = NONE
    if (source === REMOTE) {
      this.#port.route(this.#hostId, null)
      this.#port.send(encodeInput(Input.iteratorClose, { id: this.#hostId }))
      this.#hostId = 0
      this.#clearBuffer()
    } else if (source === LOCAL) {
      const local = this.#local as Promise<LocalIterator>
      this.#local = null
      this.#clearLocal()
      return local.then((it) => it.close()).catch(noop)
    }
    return Promise.resolve()
  }

  // ---- Caller actions ------------------------------------------------------------------

  /** Seek to `target`, in any key format. */
  seek(target: unknown): void {
    this.#seekBytes(toBytes(target))
  }

  #seekBytes(target: Buffer): void {
    if (this.#closed || this.#failed !== null) return
    this.#atEnd = false
    if (!inRange(this.#range, target)) {
      // As memory-level and classic-level do: a target outside the range means the end.
      this.#out = true
      this.#seq++ // ignore whatever the host still sends for the old position
      this.#clearBuffer()
      this.#clearLocal()
      return
    }
    this.#out = false
    this.#blind = false
    this.#localLast = NO_ITEM
    this.#from = target
    this.#fromInclusive = true
    if (this.#source === REMOTE && this.#original) {
      // The host iterator has the original range (and snapshot): let the host seek.
      this.#clearBuffer()
      this.#port.send(encodeInput(Input.iteratorSeek, { id: this.#hostId, seq: ++this.#seq, target }))
    } else if (this.#source === LOCAL && this.#localOriginal) {
      this.#clearLocal()
      this.#local = (this.#local as Promise<LocalIterator>).then((it) => {
        it.seek(target, BUFFER_KEY)
        return it
      })
      this.#local.catch(noop)
    } else if (this.#source !== NONE) {
      // A narrowed source cannot reach targets before its start: open a new one.
      this.#drop()
      this.start()
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#settle(notOpen())
    this.#port.forget(this)
    await this.#drop()
  }

  // ---- Guest events --------------------------------------------------------------------

  /** The connection was lost (the guest already dropped all routes). */
  lose(): void {
    this.#forgetRemote()
    if (!this.#port.retry) this.#fail(connectionLost())
  }

  #forgetRemote(): void {
    if (this.#source === REMOTE) {
      this.#source = NONE
      this.#hostId = 0
      this.#clearBuffer()
    }
  }

  /** A new connection is attached (or what held this cursor back is done): continue there. */
  resume(): void {
    if (this.#source === NONE && this.#wantsData() && this.#port.link() === 'attached' && !this.#port.held(this.order)) {
      this.#openRemote()
    }
  }

  /** Operations are forwarded to a local database now: continue there. */
  forward(): void {
    const remote = this.#source === REMOTE
    this.#forgetRemote()
    if (this.#closed || this.#failed !== null) return
    if (!this.#port.retry && remote) {
      // It reads from the host's snapshot; without retry it must not continue on another.
      this.#fail(connectionLost())
    } else if (this.#blind && this.#yielded > 0) {
      // Without retry we did not ask for keys, so we cannot tell where to continue.
      this.#fail(connectionLost())
    } else if (this.#wantsData()) {
      this.#openLocal()
    }
  }

  /**
   * Operations are no longer forwarded: let go of the local iterator (resolves once it is
   * closed), keep the position, and continue on the next connection, or fail without retry.
   */
  unforward(): Promise<void> {
    if (this.#source !== LOCAL) return Promise.resolve()
    this.#settlePosition()
    const closed = this.#drop()
    // Without retry it must not continue on another snapshot; blind, it cannot continue at all.
    if (!this.#port.retry || (this.#blind && this.#yielded > 0)) this.#fail(connectionLost())
    return closed
  }

  /**
   * Fail the waiting read, if any; the cursor stays usable. A read that already took some
   * items returns them instead, so that nothing is skipped. Returns true if it rejected.
   */
  abort(err: Error): boolean {
    const waiter = this.#waiter
    if (waiter === null) return false
    const rejected = waiter.items.length === 0
    this.#settle(rejected ? err : waiter.items)
    return rejected
  }

  /** When the waiting read started waiting (epoch ms), or -1 if none is waiting. */
  get waitingSince(): number {
    return this.#waiter === null ? -1 : this.#waiter.time
  }

  #fail(err: Error): Error {
    this.#failed = err
    this.#settle(err)
    return err
  }
}

function first(items: unknown[]): unknown {
  return items[0]
}
