import {
  type BatchOperationMessage,
  type CallbackMessage,
  decodeInput,
  EXTENSION_VERSION,
  encodeOutput,
  FEATURES,
  FRAME_TOO_LARGE,
  type GetManyCallbackMessage,
  type GetManyPartMessage,
  type HelloMessage,
  INVALID_VALUE,
  Input,
  type IteratorMessage,
  NOT_FOUND,
  Output,
  outputFrameLength,
  PROTOCOL_ERROR,
  READONLY,
  RpcStream,
  TOO_MANY_ITERATORS,
  wireCode,
  wireMessage
} from '@rave-level/protocol'
import { type LocalStore, type SequencedWrite, Sequencer, type WriteOp } from '@rave-level/store'
import { type DbRangeOptions, dbRangeOptions, ENCODINGS, wireRange } from './db-options.js'
import { HostIterator, type IteratorOwner, type IteratorSource } from './host-iterator.js'

/** Shortest heartbeat interval a guest may ask for, so that one cannot make us spin. */
const MIN_HEARTBEAT = 10

/** The part of an abstract-level 3 database the host calls, always with buffer encodings. */
export interface HostDatabase extends IteratorSource {
  get(key: Uint8Array, options: typeof ENCODINGS): Promise<Uint8Array | undefined>
  getMany(keys: Uint8Array[], options: typeof ENCODINGS): Promise<(Uint8Array | undefined)[]>
  batch(operations: SequencedWrite[], options: typeof ENCODINGS): Promise<void>
  clear(options: DbRangeOptions): Promise<void>
}

/** Settings shared by every connection of one host. */
export interface ConnectionSettings {
  readonly db: HostDatabase
  /**
   * The same database for reads and writes: its private API when that is equivalent (no hooks,
   * no 'write' listeners, a root database), else its public API. Shared by all connections.
   */
  readonly store: LocalStore
  readonly readonly: boolean
  readonly maxFrameSize: number
  readonly highWaterMark: number
  readonly maxIterators: number
  readonly maxInFlight: number
  readonly maxInFlightBytes: number
  readonly iteratorBytes: number
  /** Live counters of the host, updated by its connections. */
  readonly stats: { iterators: number }
  /** Report a fault of one connection. Must not throw. */
  readonly fault: (err: Error, stream: RpcStream) => void
}

/**
 * Codes that only say the peer went away (how `pipeline` and sockets report a closed peer).
 * They end the connection like any error but are not faults.
 */
const DISCONNECTS = new Set<unknown>(['ABORT_ERR', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'])

const MISSING = Object.freeze({}) as { value?: Uint8Array }
const HEARTBEAT = encodeOutput(Output.heartbeat, {})

/**
 * One guest connection: decodes requests from an {@link RpcStream}, runs them through a
 * per-connection {@link Sequencer} (so one guest's operations apply in the order it issued them,
 * with pipelined writes merged into one batch) and replies once each operation settled.
 *
 * Bounded memory: a request starts only while fewer than `maxInFlight` operations (each key of a
 * getMany and each operation of a batch counts) and `maxInFlightBytes` bytes of requests run,
 * and the guest reads its replies (output below `highWaterMark`). Otherwise the frame, and every
 * frame after it, is parked in order and the stream stops accepting input, until operations
 * settle or output drains; so a guest that floods requests or stops reading is throttled by its
 * own socket. Parked frames are views of the one chunk being decoded when that happened.
 * Iterators bound themselves through acknowledgements ({@link HostIterator}).
 *
 * Extensions: a guest that opens with `Hello` (a rave-level guest) gets a `Hello` back at once,
 * error messages next to codes, a `Heartbeat` every `heartbeat` ms while it waits for us and we
 * have sent nothing else (so it can tell a busy host from a hung one), and replies that would
 * exceed its `maxFrameSize` replaced by `LEVEL_FRAME_TOO_LARGE` errors (so it is never sent a
 * frame it must refuse). A many-level 2 guest never sends `Hello` and gets none of this.
 *
 * Nothing here throws out of an event handler or a promise callback: a frame that cannot be
 * decoded destroys this stream alone, and database errors travel in replies.
 */
export class Connection implements IteratorOwner {
  readonly stream: RpcStream
  readonly db: HostDatabase
  readonly iteratorBytes: number
  readonly #settings: ConnectionSettings
  readonly #sequencer: Sequencer
  readonly #iterators = new Map<number, HostIterator>()
  /** Frames received while there was no room for another request (#hasRoom), handled in order later. */
  #parked: (Buffer | undefined)[] = []
  #parkedHead = 0
  #unparking = false
  /**
   * Output reached the high-water mark (a send said so) and the stream has not asked for more
   * since. A flag rather than a look at `bufferedOutput`: the stream asks for more while the
   * chunk it is about to hand over still counts as buffered, and it asks only once.
   */
  #outputFull = false
  #inFlight = 0
  #inFlightBytes = 0
  #closed = false
  /** Largest frame the guest accepts, from its Hello; unlimited for a many-level 2 guest. */
  #replyLimit = Number.POSITIVE_INFINITY
  #heartbeat: NodeJS.Timeout | null = null
  #sentSinceBeat = false
  readonly #reply: CallbackMessage = { id: 0, error: undefined, value: undefined }
  readonly #manyReply: GetManyCallbackMessage = { id: 0, error: undefined, values: [] }

  constructor(settings: ConnectionSettings) {
    this.#settings = settings
    this.db = settings.db
    this.iteratorBytes = settings.iteratorBytes
    this.#sequencer = new Sequencer(settings.store)
    this.stream = new RpcStream({
      onFrame: (frame) => this.#onFrame(frame),
      maxFrameSize: settings.maxFrameSize,
      highWaterMark: settings.highWaterMark,
      onOutputDrain: () => {
        this.#outputFull = false
        if (this.#parkedHead < this.#parked.length) this.#unpark()
      }
    })
    this.stream.on('error', (err) => {
      if (!DISCONNECTS.has((err as { code?: unknown }).code)) settings.fault(err, this.stream)
    })
    this.stream.once('close', () => this.#teardown())
  }

  /** Queue a frame for the guest (dropped once the connection is gone). */
  send(frame: Buffer): void {
    if (this.#closed) return
    this.#sentSinceBeat = true
    this.#outputFull = !this.stream.send(frame)
  }

  /** Largest frame the guest accepts (what it announced in its Hello; else unlimited). */
  get replyLimit(): number {
    return this.#replyLimit
  }

  #onFrame(frame: Buffer): void {
    if (this.#closed) return
    // A Hello is answered at once, whatever is parked: it is the guest's first frame, and its
    // answer must come before the reply to anything sent after it.
    if (frame[0] === Input.hello) {
      this.#handle(frame)
      return
    }
    if (this.#parkedHead < this.#parked.length || !this.#hasRoom()) {
      this.#parked.push(frame)
      this.stream.pauseInput()
      return
    }
    // Throws LEVEL_PROTOCOL_ERROR for an invalid frame: the RpcStream destroys itself with it.
    this.#handle(frame)
  }

  /**
   * Whether another request may start: few enough operations and bytes in flight, and the guest
   * reads its replies. A request larger than the byte bound still starts once nothing else runs.
   */
  #hasRoom(): boolean {
    const settings = this.#settings
    return (
      this.#inFlight < settings.maxInFlight &&
      (this.#inFlightBytes === 0 || this.#inFlightBytes < settings.maxInFlightBytes) &&
      !this.#outputFull
    )
  }

  /** Handle parked frames while there is room, then take input again. */
  #unpark(): void {
    if (this.#unparking) return
    this.#unparking = true
    try {
      while (!this.#closed && this.#parkedHead < this.#parked.length && this.#hasRoom()) {
        const frame = this.#parked[this.#parkedHead] as Buffer
        this.#parked[this.#parkedHead++] = undefined
        this.#handle(frame)
      }
    } catch (err) {
      this.stream.destroy(err as Error)
      return
    } finally {
      this.#unparking = false
    }
    if (this.#parkedHead === this.#parked.length && this.#parkedHead > 0) {
      this.#parked = []
      this.#parkedHead = 0
      this.stream.resumeInput()
    }
  }

  #handle(frame: Buffer): void {
    const { tag, message } = decodeInput(frame)
    const settings = this.#settings
    const bytes = frame.length
    switch (tag) {
      case Input.get: {
        // The store reads the gets of one tick with one getMany (one trip to classic-level's
        // thread pool instead of one per key): they come in one chunk, in one read group.
        const { id, key } = message
        this.#begin(1, bytes)
        this.#sequencer.read(() => this.#settings.store.get(key, ENCODINGS) as Promise<Uint8Array | undefined>).then(
          // abstract-level 3 yields undefined; many-level 2 guests expect an error (see README).
          (value) => this.#done(id, value === undefined ? NOT_FOUND : undefined, value, 1, bytes),
          (err) => this.#done(id, err, undefined, 1, bytes)
        )
        break
      }
      case Input.getMany: {
        const { id, keys } = message
        const n = Math.max(1, keys.length)
        this.#begin(n, bytes)
        this.#sequencer.read(() => this.#settings.store.getMany(keys, ENCODINGS) as Promise<(Uint8Array | undefined)[]>).then(
          (values) => this.#doneMany(id, undefined, values, n, bytes),
          (err) => this.#doneMany(id, err, undefined, n, bytes)
        )
        break
      }
      case Input.put:
        if (settings.readonly) this.#callback(message.id, READONLY)
        else if (message.value === undefined) this.#callback(message.id, INVALID_VALUE)
        else this.#write(message.id, [{ type: 'put', key: message.key, value: message.value, ...ENCODINGS }], message.sync, bytes)
        break
      case Input.del:
        if (settings.readonly) this.#callback(message.id, READONLY)
        else this.#write(message.id, [{ type: 'del', key: message.key, ...ENCODINGS }], message.sync, bytes)
        break
      case Input.batch: {
        // Validate before sequencing: a bad operation fails its own batch, never a merged group.
        const code = settings.readonly ? READONLY : validateBatch(message.ops)
        if (code !== undefined) this.#callback(message.id, code)
        else this.#write(message.id, withFormats(message.ops), message.sync, bytes)
        break
      }
      case Input.clear: {
        const { id } = message
        if (settings.readonly) {
          this.#callback(id, READONLY)
          break
        }
        const options = dbRangeOptions(wireRange(message.options), message.options)
        this.#begin(1, bytes)
        this.#sequencer.exclusive(() => this.db.clear(options)).then(
          () => this.#done(id, undefined, undefined, 1, bytes),
          (err) => this.#done(id, err, undefined, 1, bytes)
        )
        break
      }
      case Input.iterator:
        this.#openIterator(message)
        break
      case Input.hello:
        this.#hello(message)
        break
      case Input.iteratorAck:
        this.#iterators.get(message.id)?.ack(message.seq, message.consumed)
        break
      case Input.iteratorSeek:
        this.#iterators.get(message.id)?.seek(message.target, message.seq)
        break
      case Input.iteratorClose: {
        const it = this.#iterators.get(message.id)
        if (it !== undefined) this.#closeIterator(it)
        break
      }
    }
  }

  #write(id: number, ops: WriteOp[], sync: boolean | undefined, bytes: number): void {
    const n = Math.max(1, ops.length)
    this.#begin(n, bytes)
    this.#sequencer.write(ops, sync === true ? SYNC : undefined).then(
      () => this.#done(id, undefined, undefined, n, bytes),
      (err) => this.#done(id, err, undefined, n, bytes)
    )
  }

  /** A rave-level guest introduced itself: answer with what we do, and start heartbeats. */
  #hello(message: HelloMessage): void {
    if (this.#closed) return
    const { maxFrameSize, heartbeat } = message
    if (maxFrameSize !== undefined && maxFrameSize > 0) this.#replyLimit = maxFrameSize
    this.send(
      encodeOutput(Output.hello, {
        version: EXTENSION_VERSION,
        features: [...FEATURES],
        maxFrameSize: this.#settings.maxFrameSize,
        pid: process.pid
      })
    )
    if (heartbeat !== undefined && heartbeat > 0 && this.#heartbeat === null) {
      this.#heartbeat = setInterval(() => this.#beat(), Math.max(heartbeat, MIN_HEARTBEAT)).unref()
    }
  }

  /**
   * Tell a guest that waits for us that our event loop is alive, when nothing else was sent
   * since the last beat: it cannot otherwise tell a long operation from a hung host.
   */
  #beat(): void {
    const waiting = this.#inFlight > 0 || this.#parkedHead < this.#parked.length || this.#iterators.size > 0
    if (waiting && !this.#sentSinceBeat) this.send(HEARTBEAT)
    this.#sentSinceBeat = false
  }

  #openIterator(message: IteratorMessage): void {
    const { id } = message
    // A duplicate id is ignored, as many-level 2 does; acks and seeks for unknown ids likewise
    // (they legitimately race with a close).
    if (this.#iterators.has(id)) return
    if (this.#iterators.size >= this.#settings.maxIterators) {
      this.send(encodeOutput(Output.iteratorError, { id, seq: message.seq, error: TOO_MANY_ITERATORS }))
      return
    }
    const it = new HostIterator(this, message)
    this.#iterators.set(id, it)
    this.#settings.stats.iterators++
    this.#begin(1, 0)
    this.#sequencer.read(() => this.#createIterator(it)).then(
      () => this.#end(1, 0),
      (err) => {
        it.fail(err)
        this.#end(1, 0)
      }
    )
  }

  #createIterator(it: HostIterator): Promise<void> {
    it.open()
    return Promise.resolve()
  }

  #closeIterator(it: HostIterator): void {
    this.#iterators.delete(it.id)
    this.#settings.stats.iterators--
    it.close()
  }

  /** `n` operations of `bytes` request bytes start. */
  #begin(n: number, bytes: number): void {
    this.#inFlight += n
    this.#inFlightBytes += bytes
  }

  /** Operations settled: take parked frames if there is room again. */
  #end(n: number, bytes: number): void {
    this.#inFlight -= n
    this.#inFlightBytes -= bytes
    if (this.#parkedHead < this.#parked.length) this.#unpark()
  }

  #done(id: number, err: unknown, value: Uint8Array | undefined, n: number, bytes: number): void {
    this.#callback(id, err, value)
    this.#end(n, bytes)
  }

  #doneMany(id: number, err: unknown, values: (Uint8Array | undefined)[] | undefined, n: number, bytes: number): void {
    if (!this.#closed) {
      const msg = this.#manyReply
      msg.id = id
      msg.error = wireCode(err)
      msg.message = wireMessage(err)
      msg.values = values === undefined ? [] : values.map(wrapValue)
      const length = this.#replyLimit === Number.POSITIVE_INFINITY ? 0 : outputFrameLength(Output.getManyCallback, msg)
      if (length > this.#replyLimit) {
        const wrapped = msg.values
        msg.values = []
        this.#sendParts(id, wrapped)
      } else {
        const frame = encodeOutput(Output.getManyCallback, msg)
        msg.values = []
        this.send(frame)
      }
    }
    this.#end(n, bytes)
  }

  /**
   * Reply to a get, put, del, batch or clear: `err` is an error, a code the host chose, or
   * nothing; a reply that would exceed the guest's frame limit becomes `LEVEL_FRAME_TOO_LARGE`.
   */
  #callback(id: number, err: unknown, value?: Uint8Array | undefined): void {
    if (this.#closed) return
    const msg = this.#reply
    msg.id = id
    msg.error = typeof err === 'string' ? err : wireCode(err)
    msg.message = typeof err === 'string' ? undefined : wireMessage(err)
    msg.value = value
    if (value !== undefined && value.length > this.#replyLimit - 64 && outputFrameLength(Output.callback, msg) > this.#replyLimit) {
      msg.value = undefined
      this.#callbackTooLarge(id, outputFrameLength(Output.callback, { id, value }))
      return
    }
    const frame = encodeOutput(Output.callback, msg)
    msg.value = undefined
    this.send(frame)
  }

  /**
   * A `getMany` answer too large for one frame, as `GetManyPart` messages that each fit (only
   * a guest that said Hello with a frame limit gets here). A value that alone does not fit is
   * listed as oversized instead of sent.
   */
  #sendParts(id: number, values: { value?: Uint8Array }[]): void {
    const limit = this.#replyLimit
    const part: GetManyPartMessage = { id, start: 0, values: [], oversized: [] }
    const flush = (next: number) => {
      this.send(encodeOutput(Output.getManyPart, part))
      part.start = next
      part.values = []
      part.oversized = []
    }
    for (let i = 0; i < values.length; i++) {
      const item = values[i] as { value?: Uint8Array }
      part.values.push(item)
      if (outputFrameLength(Output.getManyPart, part) <= limit) continue
      part.values.pop()
      if (part.values.length > 0 || part.oversized.length > 0) flush(i)
      part.values.push(item)
      if (outputFrameLength(Output.getManyPart, part) > limit) {
        part.values[part.values.length - 1] = MISSING
        part.oversized.push(i - part.start)
      }
    }
    flush(values.length)
  }

  #callbackTooLarge(id: number, length: number): void {
    const message = `The reply needs a frame of ${length} bytes; the guest accepts at most ${this.#replyLimit}`
    this.send(encodeOutput(Output.callback, { id, error: FRAME_TOO_LARGE, message }))
  }

  #teardown(): void {
    this.#closed = true
    this.#parked = []
    this.#parkedHead = 0
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat)
    this.#heartbeat = null
    for (const it of this.#iterators.values()) this.#closeIterator(it)
  }
}

const SYNC = Object.freeze({ sync: true })

function wrapValue(value: Uint8Array | undefined): { value?: Uint8Array } {
  return value === undefined ? MISSING : { value }
}

/** Tag each operation with the buffer formats, as the store's batch contract asks. */
function withFormats(ops: BatchOperationMessage[]): WriteOp[] {
  const out = ops as unknown as WriteOp[]
  for (const op of out) {
    op.keyEncoding = 'buffer'
    op.valueEncoding = 'buffer'
  }
  return out
}

function validateBatch(ops: BatchOperationMessage[]): string | undefined {
  for (const op of ops) {
    if (op.type === 'put') {
      if (op.value === undefined) return INVALID_VALUE
    } else if (op.type !== 'del') {
      return PROTOCOL_ERROR
    }
  }
  return undefined
}
