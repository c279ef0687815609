import {
  type BatchOperationMessage,
  type CallbackMessage,
  decodeInput,
  encodeOutput,
  type GetManyCallbackMessage,
  Input,
  type InputTag,
  type IteratorMessage,
  Output,
  PROTOCOL_ERROR,
  type LocalStore,
  RpcStream,
  type SequencedWrite,
  Sequencer,
  type WriteOp,
  wireCode
} from '@rave-level/protocol'
import { INVALID_VALUE, NOT_FOUND, READONLY, TOO_MANY_ITERATORS } from './errors.js'
import { HostIterator, type IteratorOwner, type IteratorSource } from './host-iterator.js'
import { type DbRangeOptions, dbRangeOptions, ENCODINGS } from './range-options.js'

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

/**
 * One guest connection: decodes requests from an {@link RpcStream}, runs them through a
 * per-connection {@link Sequencer} (so one guest's operations apply in the order it issued them,
 * with pipelined writes merged into one batch) and replies once each operation settled.
 *
 * Bounded memory: a request starts only while fewer than `maxInFlight` operations run and the
 * guest reads its replies (output below `highWaterMark`). Otherwise the frame, and every frame
 * after it, is parked in order and the stream stops accepting input, until operations settle or
 * output drains; so a guest that floods requests or stops reading is throttled by its own socket.
 * Parked frames are views of the one chunk being decoded when that happened. Iterators bound
 * themselves through acknowledgements ({@link HostIterator}).
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
  /** Gets decoded but not yet submitted (see #submitGets). */
  #getIds: number[] = []
  #getKeys: Uint8Array[] = []
  readonly #submitGetsLater = () => this.#submitGets()
  /**
   * Output reached the high-water mark (a send said so) and the stream has not asked for more
   * since. A flag rather than a look at `bufferedOutput`: the stream asks for more while the
   * chunk it is about to hand over still counts as buffered, and it asks only once.
   */
  #outputFull = false
  #inFlight = 0
  #closed = false
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
    if (!this.#closed) this.#outputFull = !this.stream.send(frame)
  }

  #onFrame(frame: Buffer): void {
    if (this.#closed) return
    if (this.#parkedHead < this.#parked.length || !this.#hasRoom()) {
      this.#parked.push(frame)
      this.stream.pauseInput()
      return
    }
    // Throws LEVEL_PROTOCOL_ERROR for an invalid frame: the RpcStream destroys itself with it.
    this.#handle(frame)
  }

  /** Whether another request may start: few enough in flight, and the guest reads its replies. */
  #hasRoom(): boolean {
    return this.#inFlight < this.#settings.maxInFlight && !this.#outputFull
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
    // Collected gets go first: they were issued before any sequenced request that follows them.
    if (this.#getIds.length !== 0 && tag !== Input.get && sequenced(tag)) this.#submitGets()
    switch (tag) {
      case Input.get:
        // Collected, then read with one getMany (see #submitGets).
        this.#begin()
        if (this.#getIds.length === 0) queueMicrotask(this.#submitGetsLater)
        this.#getIds.push(message.id)
        this.#getKeys.push(message.key)
        break
      case Input.getMany: {
        const { id, keys } = message
        this.#begin()
        this.#sequencer.read(() => this.#settings.store.getMany(keys, ENCODINGS) as Promise<(Uint8Array | undefined)[]>).then(
          (values) => this.#doneMany(id, undefined, values),
          (err) => this.#doneMany(id, err, undefined)
        )
        break
      }
      case Input.put:
        if (settings.readonly) this.#callback(message.id, READONLY, undefined)
        else if (message.value === undefined) this.#callback(message.id, INVALID_VALUE, undefined)
        else this.#write(message.id, [{ type: 'put', key: message.key, value: message.value, ...ENCODINGS }])
        break
      case Input.del:
        if (settings.readonly) this.#callback(message.id, READONLY, undefined)
        else this.#write(message.id, [{ type: 'del', key: message.key, ...ENCODINGS }])
        break
      case Input.batch: {
        // Validate before sequencing: a bad operation fails its own batch, never a merged group.
        const code = settings.readonly ? READONLY : validateBatch(message.ops)
        if (code !== undefined) this.#callback(message.id, code, undefined)
        else this.#write(message.id, withFormats(message.ops))
        break
      }
      case Input.clear: {
        const { id } = message
        if (settings.readonly) {
          this.#callback(id, READONLY, undefined)
          break
        }
        const options = dbRangeOptions(message.options)
        this.#begin()
        this.#sequencer.exclusive(() => this.db.clear(options)).then(
          () => this.#done(id, undefined, undefined),
          (err) => this.#done(id, wireCode(err), undefined)
        )
        break
      }
      case Input.iterator:
        this.#openIterator(message)
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

  /**
   * Read the collected gets with one `db.getMany()`: one call (for classic-level one trip to the
   * thread pool) instead of one per key, several times faster for pipelined gets. Gets are
   * collected until the chunk being decoded is done or another sequenced request arrives, and
   * submitted before it, so the order of operations is unchanged.
   */
  #submitGets(): void {
    const ids = this.#getIds
    const keys = this.#getKeys
    if (ids.length === 0) return
    this.#getIds = []
    this.#getKeys = []
    this.#sequencer.read(() => this.#settings.store.getMany(keys, ENCODINGS) as Promise<(Uint8Array | undefined)[]>).then(
      (values) => {
        for (let i = 0; i < ids.length; i++) {
          const value = values[i]
          // abstract-level 3 yields undefined; many-level 2 guests expect an error (see README).
          this.#done(ids[i] as number, value === undefined ? NOT_FOUND : undefined, value)
        }
      },
      (err) => {
        const code = wireCode(err)
        for (const id of ids) this.#done(id, code, undefined)
      }
    )
  }

  #write(id: number, ops: WriteOp[]): void {
    this.#begin()
    this.#sequencer.write(ops).then(
      () => this.#done(id, undefined, undefined),
      (err) => this.#done(id, wireCode(err), undefined)
    )
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
    this.#begin()
    this.#sequencer.read(() => this.#createIterator(it)).then(
      () => this.#end(),
      (err) => {
        it.fail(err)
        this.#end()
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

  #begin(): void {
    this.#inFlight++
  }

  /** An operation settled: take parked frames if there is room again. */
  #end(): void {
    this.#inFlight--
    if (this.#parkedHead < this.#parked.length) this.#unpark()
  }

  #done(id: number, code: string | undefined, value: Uint8Array | undefined): void {
    this.#callback(id, code, value)
    this.#end()
  }

  #doneMany(id: number, err: unknown, values: (Uint8Array | undefined)[] | undefined): void {
    if (!this.#closed) {
      const msg = this.#manyReply
      msg.id = id
      msg.error = wireCode(err)
      msg.values = values === undefined ? [] : values.map(wrapValue)
      const frame = encodeOutput(Output.getManyCallback, msg)
      msg.values = []
      this.send(frame)
    }
    this.#end()
  }

  #callback(id: number, error: string | undefined, value: Uint8Array | undefined): void {
    if (this.#closed) return
    const msg = this.#reply
    msg.id = id
    msg.error = error
    msg.value = value
    const frame = encodeOutput(Output.callback, msg)
    msg.value = undefined
    this.send(frame)
  }

  #teardown(): void {
    this.#closed = true
    this.#parked = []
    this.#parkedHead = 0
    for (const it of this.#iterators.values()) this.#closeIterator(it)
  }
}

/** Whether a request goes through the Sequencer (iterator acks, seeks and closes do not). */
function sequenced(tag: InputTag): boolean {
  return tag !== Input.iteratorAck && tag !== Input.iteratorSeek && tag !== Input.iteratorClose
}

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
