import {
  type BatchOperationMessage,
  decodeInput,
  EXTENSION_VERSION,
  encodeOutput,
  FEATURES,
  type HelloMessage,
  INVALID_VALUE,
  Input,
  NOT_FOUND,
  Output,
  PROTOCOL_ERROR,
  READONLY,
  RpcStream
} from '@rave-level/protocol'
import { maintenance, Sequencer, type WriteOp } from '@rave-level/store'
import { Admission } from './admission.js'
import type { CacheClient } from './cache-registry.js'
import { ConnectionIterators } from './connection-iterators.js'
import type { ConnectionSettings, HostDatabase } from './connection-settings.js'
import { ConnectionWatches, type WatchesOwner } from './connection-watches.js'
import { dbRangeOptions, ENCODINGS, wireRange } from './db-options.js'
import type { IteratorOwner } from './host-iterator.js'
import { Replies } from './replies.js'
import { Snapshots } from './snapshots.js'

/** Shortest heartbeat interval a guest may ask for, so that one cannot make us spin. */
const MIN_HEARTBEAT = 10

/**
 * Codes that only say the peer went away (how `pipeline` and sockets report a closed peer).
 * They end the connection like any error but are not faults.
 */
const DISCONNECTS = new Set<unknown>(['ABORT_ERR', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE'])

const HEARTBEAT = encodeOutput(Output.heartbeat, {})

/**
 * One guest connection: decodes requests from an {@link RpcStream}, runs them through a
 * per-connection {@link Sequencer} (so one guest's operations apply in the order it issued them,
 * with pipelined writes merged into one batch) and replies once each operation settled.
 * Memory is bounded by {@link Admission}; iterators bound themselves through acknowledgements
 * ({@link HostIterator}).
 *
 * Extensions: a guest that opens with `Hello` (a rave-level guest) gets a `Hello` back at once,
 * error messages next to codes, a `Heartbeat` every `heartbeat` ms while it waits for us and we
 * have sent nothing else (so it can tell a busy host from a hung one), and answers within its
 * `maxFrameSize` (see {@link Replies}). A many-level 2 guest never sends `Hello` and gets none of
 * this.
 *
 * Nothing here throws out of an event handler or a promise callback: a frame that cannot be
 * decoded destroys this stream alone, and database errors travel in replies.
 */
export class Connection implements IteratorOwner, WatchesOwner {
  readonly stream: RpcStream
  readonly db: HostDatabase
  readonly iteratorBytes: number
  readonly #settings: ConnectionSettings
  readonly #sequencer: Sequencer
  readonly #iterators: ConnectionIterators
  readonly #watches: ConnectionWatches
  readonly #admission: Admission
  readonly #snapshots: Snapshots
  readonly #replies = new Replies((frame) => this.send(frame))
  #closed = false
  /** This guest's cache (the `cache` extension), from its first `CacheLease`. */
  #cache: CacheClient | null = null
  #heartbeat: NodeJS.Timeout | null = null
  #sentSinceBeat = false

  constructor(settings: ConnectionSettings) {
    this.#settings = settings
    this.db = settings.db
    this.iteratorBytes = settings.iteratorBytes
    this.#sequencer = new Sequencer(settings.store)
    this.#snapshots = new Snapshots(settings.db, settings.stats)
    this.stream = new RpcStream({
      onFrame: (frame) => this.#onFrame(frame),
      maxFrameSize: settings.maxFrameSize,
      highWaterMark: settings.highWaterMark,
      onOutputDrain: () => {
        this.#admission.drained()
        this.#watches.drain()
      }
    })
    this.#admission = new Admission(settings, this.stream, (frame) => this.#handle(frame))
    this.#iterators = new ConnectionIterators(this, settings, this.#sequencer, this.#admission, this.#snapshots)
    this.#watches = new ConnectionWatches(this, settings, this.#sequencer, this.#admission, this.#replies)
    this.stream.on('error', (err) => {
      if (!DISCONNECTS.has((err as { code?: unknown }).code)) settings.fault(err, this.stream)
    })
    this.stream.once('close', () => this.#teardown())
  }

  /**
   * Queue a frame for the guest (dropped once the connection is gone); `later` for one that no
   * request waits for (see `RpcStream.send`).
   */
  send(frame: Buffer, later = false): void {
    if (this.#closed) return
    this.#sentSinceBeat = true
    if (!this.stream.send(frame, later)) this.#admission.outputFull = true
  }

  /** Whether the guest reads what we send: output has not reached the high-water mark (see Admission). */
  get reading(): boolean {
    return !this.#admission.outputFull
  }

  /** Largest frame the guest accepts (what it announced in its Hello; else unlimited). */
  get replyLimit(): number {
    return this.#replies.limit
  }

  /**
   * Take no more requests (they are ignored: the guest sends them to the next leader) and
   * resolve once every request taken has settled and its reply was queued. A leader that stops
   * serving does this before it ends the connection, so that nothing runs without its guest
   * learning the outcome: a write applied with its reply lost, after a read whose reply was lost
   * too, would be visible to that read when the guest sends it again.
   */
  finish(): Promise<void> {
    this.#finishing = true
    this.#admission.stop()
    return this.#admission.settled()
  }

  #finishing = false

  #onFrame(frame: Buffer): void {
    if (this.#closed) return
    // cache: leases and acknowledgements go at once, past parked requests (writes may wait
    // for them), also while finishing (the writes it waits for may).
    if (frame[0] === Input.cacheLease || frame[0] === Input.cacheAck) {
      this.#handle(frame)
      return
    }
    // Before the finishing check: a host finished from here ignores this write already.
    if (this.#settings.beforeWrite !== null && !this.#finishing && WRITES.has(frame[0] as number)) {
      this.#settings.beforeWrite()
    }
    if (this.#finishing) return
    // A Hello is answered at once, whatever is parked: it is the guest's first frame, and its
    // answer must come before the reply to anything sent after it.
    if (frame[0] === Input.hello) {
      this.#handle(frame)
      return
    }
    // Throws LEVEL_PROTOCOL_ERROR for an invalid frame: the RpcStream destroys itself with it.
    this.#admission.offer(frame)
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
        const since = this.#settings.cache.epoch // cache: before the read
        this.#admission.begin(1, bytes)
        this.#sequencer
          .read(() => this.#settings.store.get(key, this.#options(message.snapshot)) as Promise<Uint8Array | undefined>)
          .then(
            // abstract-level 3 yields undefined; many-level 2 guests expect an error (see README).
            (value) =>
              this.done(
                id,
                value === undefined ? NOT_FOUND : undefined,
                value,
                1,
                bytes,
                message.snapshot === undefined && this.#cache?.grant(key, since) // cache
              ),
            (err) => this.done(id, err, undefined, 1, bytes)
          )
        break
      }
      case Input.getMany: {
        const { id, keys } = message
        const n = Math.max(1, keys.length)
        const since = this.#settings.cache.epoch // cache: before the read
        this.#admission.begin(n, bytes)
        this.#sequencer
          .read(
            () =>
              this.#settings.store.getMany(keys, this.#options(message.snapshot)) as Promise<(Uint8Array | undefined)[]>
          )
          .then(
            (values) =>
              this.#doneMany(
                id,
                undefined,
                values,
                n,
                bytes,
                message.snapshot === undefined && keys.length > 0 && this.#cache?.grant(keys, since) // cache
              ),
            (err: unknown) => this.#doneMany(id, err, undefined, n, bytes)
          )
        break
      }
      case Input.put:
        if (settings.readonly) this.#replies.callback(message.id, READONLY)
        else if (message.value === undefined) this.#replies.callback(message.id, INVALID_VALUE)
        else
          this.#write(
            message.id,
            [{ type: 'put', key: message.key, value: message.value, ...ENCODINGS }],
            message.sync,
            bytes
          )
        break
      case Input.del:
        if (settings.readonly) this.#replies.callback(message.id, READONLY)
        else this.#write(message.id, [{ type: 'del', key: message.key, ...ENCODINGS }], message.sync, bytes)
        break
      case Input.batch: {
        // Validate before sequencing: a bad operation fails its own batch, never a merged group.
        const code = settings.readonly ? READONLY : validateBatch(message.ops)
        if (code !== undefined) this.#replies.callback(message.id, code)
        else this.#write(message.id, withFormats(message.ops), message.sync, bytes)
        break
      }
      case Input.clear: {
        const { id } = message
        if (settings.readonly) {
          this.#replies.callback(id, READONLY)
          break
        }
        const options = dbRangeOptions(wireRange(message.options), message.options)
        this.#admission.begin(1, bytes)
        this.#sequencer
          .exclusive(async () => settings.store.clear({ ...options, ...this.#options(message.snapshot) }))
          .then(
            () => this.done(id, undefined, undefined, 1, bytes),
            (err) => this.done(id, err, undefined, 1, bytes)
          )
        break
      }
      case Input.iterator:
        this.#iterators.open(message)
        break
      case Input.hello:
        this.#hello(message)
        break
      case Input.snapshot: {
        const { id, snapshot } = message
        this.#admission.begin(1, bytes)
        this.#sequencer
          .read(async () => this.#snapshots.open(snapshot))
          .then(
            () => this.done(id, undefined, undefined, 1, bytes),
            (err) => this.done(id, err, undefined, 1, bytes)
          )
        break
      }
      case Input.snapshotClose: {
        const { id, snapshot } = message
        this.#admission.begin(1, bytes)
        this.#snapshots.close(snapshot).then(
          () => this.done(id, undefined, undefined, 1, bytes),
          (err) => this.done(id, err, undefined, 1, bytes)
        )
        break
      }
      case Input.call: {
        const { id } = message
        // compactRange rewrites files: a write, as far as access goes.
        if (settings.readonly && message.method === 'compactRange') {
          this.#replies.callback(id, READONLY)
          break
        }
        this.#admission.begin(1, bytes)
        this.#sequencer
          .read(() => maintenance(this.db, message))
          .then(
            (value) => this.done(id, undefined, value, 1, bytes),
            (err) => this.done(id, err, undefined, 1, bytes)
          )
        break
      }
      case Input.watch:
        this.#watches.open(message, bytes)
        break
      case Input.watchClose:
        this.#watches.close(message.id, message.watch)
        break
      case Input.cacheLease:
        this.#cache ??= this.#settings.cache.client((frame) => this.send(frame))
        this.#cache.lease(message.id, message.lease)
        break
      case Input.cacheAck:
        this.#cache?.ack(message.id)
        break
      case Input.iteratorAck:
        this.#iterators.ack(message.id, message.seq, message.consumed)
        break
      case Input.iteratorSeek:
        this.#iterators.seek(message.id, message.target, message.seq)
        break
      case Input.iteratorClose:
        this.#iterators.close(message.id)
        break
    }
  }

  #write(id: number, ops: WriteOp[], sync: boolean | undefined, bytes: number): void {
    const n = Math.max(1, ops.length)
    this.#admission.begin(n, bytes)
    this.#cache?.own(ops) // cache
    this.#sequencer.write(ops, sync === true ? SYNC : undefined).then(
      () => this.done(id, undefined, undefined, n, bytes),
      (err) => this.done(id, err, undefined, n, bytes)
    )
  }

  /** A rave-level guest introduced itself: answer with what we do, and start heartbeats. */
  #hello(message: HelloMessage): void {
    if (this.#closed) return
    const { maxFrameSize, heartbeat } = message
    if (maxFrameSize !== undefined && maxFrameSize > 0) this.#replies.limit = maxFrameSize
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
    const waiting = this.#admission.busy || this.#iterators.size > 0
    if (waiting && !this.#sentSinceBeat) this.send(HEARTBEAT)
    this.#sentSinceBeat = false
  }

  /**
   * Settle request `id`, admitted as `n` operations of `bytes`: reply (unless gone) and release
   * its admission. `cache`: the answer may be kept (the `cache` extension).
   */
  done(id: number, err: unknown, value: Uint8Array | undefined, n: number, bytes: number, cache?: boolean): void {
    if (!this.#closed) this.#replies.callback(id, err, value, cache)
    this.#admission.end(n, bytes)
  }

  #doneMany(
    id: number,
    err: unknown,
    values: (Uint8Array | undefined)[] | undefined,
    n: number,
    bytes: number,
    cache?: boolean
  ): void {
    if (!this.#closed) this.#replies.many(id, err, values, cache)
    this.#admission.end(n, bytes)
  }

  /** Options of a read, with the snapshot it names (throws if this connection has no such). */
  #options(snapshot: number | undefined): typeof ENCODINGS & { snapshot?: object | undefined } {
    return snapshot === undefined ? ENCODINGS : { ...ENCODINGS, snapshot: this.#snapshots.get(snapshot) }
  }

  #teardown(): void {
    this.#closed = true
    // Nothing may start once its reply can no longer reach the guest (see finish()).
    this.#sequencer.abandon(GONE)
    this.#snapshots.closeAll()
    this.#admission.stop()
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat)
    this.#heartbeat = null
    this.#iterators.closeAll()
    this.#watches.closeAll()
    this.#cache?.close()
  }
}

const SYNC = Object.freeze({ sync: true })
/** Tags of the requests that write (see `LevelHostOptions.beforeWrite`). */
const WRITES: ReadonlySet<number> = new Set([Input.put, Input.del, Input.batch, Input.clear])
const GONE = new Error('The connection closed')

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
