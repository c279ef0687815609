import {
  type CacheGrantMessage,
  type CacheInvalidateMessage,
  decodeOutput,
  EXTENSION_VERSION,
  encodeInput,
  FEATURES,
  FRAME_TOO_LARGE,
  Input,
  Output,
  RpcStream,
  readFrameHead,
  readWatchChangesAt,
  type WatchChangeAt
} from '@rave-level/protocol'
import { notSupported, protocolError, tooLarge, tooLargeToReceive } from './errors.js'
import { InFlight, type Route, type Settler } from './in-flight.js'
import { type CollectorOwner, KeyCollector } from './key-collector.js'
import { type Answer, encodeRequest, encodeRun, featureOf, Request, runLength } from './requests.js'

/**
 * What a {@link HostLink} reports back to its owner (the dispatcher): answers and refusals of
 * its requests, the keys a limited clear collected, the host's introduction, snapshots bound to
 * the link, and the changes and gaps of its watches.
 */
export interface LinkOwner extends Settler, CollectorOwner {
  /** Whether `req` settled already (a timeout or close() came first). */
  settled(req: Request): boolean
  /** A snapshot was just bound to this link (its request is being sent). */
  bound(): void
  /** The host answered its Hello (or turned out to be a plain many-level 2 host). */
  introduced(link: HostLink): void
  /** Changes, or a gap, for a watch registered on this link. */
  watchChanges(link: HostLink, id: number, changes: WatchChangeAt[]): void
  watchGap(link: HostLink, id: number): void
  /** The host said we may keep its answer to `sent` (the `cache` extension; `sent` as it left, if still in flight). */
  cacheable(link: HostLink, sent: Request | Request[] | undefined, answer: Answer): void
  /** A `CacheGrant` or `CacheInvalidate` from the host. */
  cacheFrame(link: HostLink, tag: number, message: CacheGrantMessage | CacheInvalidateMessage): void
}

/** Options of a {@link HostLink}. */
export interface HostLinkOptions {
  maxFrameSize: number
  /** Interval of the host's heartbeats we ask for (ms), 0 for none. */
  heartbeat: number
}

const MAX_ID = 0xffffffff
const NONE: ReadonlySet<string> = new Set()
const DONE: Answer = Object.freeze({})

/**
 * One connection to a host: its stream, what the host said about itself, and everything whose
 * meaning ends with the connection (wire ids of requests in flight, iterator routes, the
 * outbox of this tick). The dispatcher keeps what outlives it (pending requests, cursors).
 *
 * On attach it sends a `Hello` (the extension handshake, which a many-level 2 host ignores)
 * followed by an empty `GetMany`, the sentinel: a host that knows `Hello` answers it first, so
 * an answer to the sentinel without a `Hello` before it means a plain many-level 2 host.
 */
export class HostLink {
  readonly stream: RpcStream
  /** `'extended'` once the host answered Hello; `'plain'` for a many-level 2 host. */
  peer: 'unknown' | 'extended' | 'plain' = 'unknown'
  /** The host's process id, from its Hello. */
  pid: number | undefined
  /** The extensions the host named in its Hello (none for a many-level 2 host). */
  features: ReadonlySet<string> = NONE
  /** When the stream was attached (epoch ms). */
  readonly since = Date.now()
  /**
   * Since when the host owes us an answer without having sent anything at all (epoch ms), or
   * 0: set when we send something while nothing is owed, cleared by any frame from the host.
   * The dispatcher moves it forward by the time its own event loop was blocked, which is not
   * the host's silence.
   */
  owedSince = this.since
  readonly #owner: LinkOwner
  readonly #maxFrameSize: number
  /** Largest frame we send: ours, or the host's if smaller. */
  #sendLimit: number
  /** What was sent and not answered yet, and the host iterators opened, by wire id. */
  readonly #wire: InFlight
  #outbox: (Request | Buffer)[] = []
  #scheduled = false
  readonly #flush = () => this.#flushOutbox()
  #nextId = 0
  #sentinel = 0

  constructor(owner: LinkOwner, options: HostLinkOptions) {
    this.#owner = owner
    this.#wire = new InFlight(owner)
    this.#maxFrameSize = options.maxFrameSize
    this.#sendLimit = options.maxFrameSize
    this.stream = new RpcStream({
      onFrame: (frame) => this.#onFrame(frame),
      onOversize: (head) => this.#onOversize(head),
      maxFrameSize: options.maxFrameSize,
      // The input holds the answers to what we sent: always read it (see RpcStream).
      holdInput: false
    })
    this.stream.send(
      encodeInput(Input.hello, {
        version: EXTENSION_VERSION,
        features: [...FEATURES],
        maxFrameSize: options.maxFrameSize,
        heartbeat: options.heartbeat > 0 ? options.heartbeat : undefined
      })
    )
    this.#sentinel = this.allocId()
    this.stream.send(encodeInput(Input.getMany, { id: this.#sentinel, keys: [] }))
  }

  /** The host's silence so far (ms): 0 unless it owes us an answer. */
  quiet(now: number): number {
    return this.owedSince === 0 ? 0 : now - this.owedSince
  }

  /** Whether the host is known to answer heartbeats, or unknown yet (and so must answer). */
  get monitored(): boolean {
    return this.peer !== 'plain'
  }

  allocId(): number {
    let id = this.#nextId
    do id = id >= MAX_ID ? 1 : id + 1
    while (this.#wire.has(id) || id === this.#sentinel)
    this.#nextId = id
    return id
  }

  /** Host iterator `id`'s messages go to `route` from now on (`null`: nowhere). */
  route(id: number, route: Route | null): void {
    this.#wire.route(id, route)
  }

  /** Send a request, or a prepared frame (of a cursor), at the end of this tick, in order. */
  queue(item: Request | Buffer): void {
    this.#outbox.push(item)
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flush)
    }
  }

  /** The requests sent on this link and not answered (their outcome is unknown). */
  sentRequests(): Set<Request> {
    return new Set(this.#wire.requests())
  }

  /** Stop for good: nothing more is sent; what was in flight is the owner's to retry. */
  destroy(): void {
    this.#outbox = []
    if (!this.stream.destroyed) this.stream.destroy()
  }

  /**
   * Encode what this tick queued, coalescing runs of reads or writes into one frame each (see
   * {@link runLength}). Runs before the stream's own per-tick flush, so it all leaves as one
   * socket write.
   */
  #flushOutbox(): void {
    this.#scheduled = false
    const items = this.#outbox
    this.#outbox = []
    if (this.stream.destroyed) return
    if (this.owedSince === 0 && items.length > 0) this.owedSince = Date.now()
    const cap = this.#sendLimit / 2
    for (let i = 0; i < items.length; ) {
      const item = items[i] as Request | Buffer
      if (item instanceof Request && !this.#ready(item)) {
        // It needs an extension, and we do not know yet what the host supports: everything
        // from here on waits for its Hello (or its proof of being a many-level 2 host).
        this.#outbox = items.slice(i).concat(this.#outbox)
        return
      }
      const n = runLength(items, i, cap)
      if (!(item instanceof Request)) {
        this.stream.send(item)
      } else if (n === 1) {
        if (this.#prepare(item)) this.#send(item, encodeRequest)
      } else {
        const run = (items.slice(i, i + n) as Request[]).filter((req) => this.#prepare(req))
        if (run.length === 1) this.#send(run[0] as Request, encodeRequest)
        else if (run.length > 1) this.#send(run, encodeRun)
      }
      i += n
    }
  }

  /**
   * Whether `req` may be sent as far as extensions go: yes without one, or once the host named
   * it; a host known not to have it fails `req` with `LEVEL_NOT_SUPPORTED` (then also true: it
   * is done with). False only while the host is not known yet.
   */
  #ready(req: Request): boolean {
    const feature = featureOf(req.op)
    if (feature === undefined || this.features.has(feature)) return true
    if (this.peer === 'unknown') return false
    this.#owner.refuse(req, notSupported(`The host does not support ${feature}`))
    return true
  }

  /**
   * Bind what `req` involves to this connection before it is sent: a snapshot it takes, or
   * reads from. Returns false if it must not be sent (it is settled, or refused, here).
   */
  #prepare(req: Request): boolean {
    if (this.#owner.settled(req)) return false
    const op = req.op
    if (op.kind === 'snapshot' || op.kind === 'snapshotClose') {
      const snap = op.snapshot
      // Taken, or to be released, elsewhere (a lost connection): nothing to do here. A snapshot
      // is never taken again on another connection.
      if (snap.closed && op.kind === 'snapshot') return this.#done(req)
      if (snap.home !== null && snap.home !== this) return this.#done(req)
      if (snap.home === null) {
        snap.bindRemote(this)
        // After this request: cursors that wait for it open their host iterators behind it.
        process.nextTick(() => this.#owner.bound())
      }
      return true
    }
    if (op.kind === 'watch' || op.kind === 'watchClose') {
      const w = op.watch
      // A watch closed before it was sent is not registered; one registered elsewhere (a lost
      // connection) has nothing to release here.
      if (op.kind === 'watch' && w.closed) return this.#done(req)
      if (op.kind === 'watchClose' && w.home !== this) return this.#done(req)
      if (op.kind === 'watch') w.bind(this)
      return true
    }
    const refusal = req.snap?.refusal(this)
    if (refusal != null) {
      this.#owner.refuse(req, refusal)
      return false
    }
    return true
  }

  #done(req: Request): false {
    this.#owner.settle(req, DONE)
    return false
  }

  /** Send one request or a run of them as one frame, unless it exceeds the frame limit. */
  #send<T extends Request | Request[]>(sent: T, encode: (sent: T, id: number) => Buffer): void {
    const id = this.allocId()
    const frame = encode(sent, id)
    if (frame.length <= this.#sendLimit) {
      if (sent instanceof Request && sent.op.kind === 'clearKeys')
        this.#wire.route(id, new KeyCollector(this, this.#owner, sent, id))
      else this.#wire.set(id, sent)
      this.stream.send(frame)
    } else if (Array.isArray(sent)) {
      for (const req of sent) this.#send(req, encodeRequest)
    } else {
      this.#owner.refuse(sent, tooLarge(frame.length, this.#sendLimit))
    }
  }

  #onFrame(frame: Buffer): void {
    this.owedSince = 0
    if (frame[0] === Output.watchChanges) {
      // The frame a busy change feed sends most: decoded to offsets, without a view per field.
      const { id, changes } = readWatchChangesAt(frame, 1, frame.length)
      this.#owner.watchChanges(this, id, changes)
      return
    }
    const { tag, message } = decodeOutput(frame)
    switch (tag) {
      case Output.callback:
        if (message.cache === true) this.#owner.cacheable(this, this.#wire.peek(message.id), message)
        this.#wire.answer(message.id, message)
        break
      case Output.getManyCallback:
        if (message.id === this.#sentinel) this.#introduce('plain', undefined, undefined)
        else {
          if (message.cache === true) this.#owner.cacheable(this, this.#wire.peek(message.id), message)
          this.#wire.answer(message.id, message)
        }
        break
      case Output.cacheGrant:
      case Output.cacheInvalidate:
        this.#owner.cacheFrame(this, tag, message)
        break
      case Output.getManyPart:
        this.#wire.part(message.id, message.start, message.values, message.oversized)
        break
      case Output.iteratorData:
        this.#wire.routeOf(message.id)?.onData(message.seq, message.data)
        break
      case Output.iteratorEnd:
        this.#wire.routeOf(message.id)?.onEnd(message.seq)
        break
      case Output.iteratorError:
        this.#wire.routeOf(message.id)?.onError(message.seq, message.error, message.message)
        break
      case Output.watchGap:
        this.#owner.watchGap(this, message.id)
        break
      case Output.hello:
        this.#introduce('extended', message.pid, message.maxFrameSize, message.features)
        break
      // Output.heartbeat: hearing it is all it is for.
    }
  }

  #introduce(
    peer: 'extended' | 'plain',
    pid: number | undefined,
    maxFrameSize: number | undefined,
    features: string[] = []
  ): void {
    if (this.peer !== 'unknown') return
    this.peer = peer
    this.pid = pid
    this.features = new Set(features)
    // What waited to know the host's extensions goes now.
    if (this.#outbox.length > 0 && !this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flush)
    }
    if (maxFrameSize !== undefined && maxFrameSize > 0) this.#sendLimit = Math.min(this.#maxFrameSize, maxFrameSize)
    this.#owner.introduced(this)
  }

  /**
   * A frame over our limit, skipped by the decoder (a host that does not know our limit, such
   * as many-level 2, sent it): fail what it answered, by the id at its start, and go on.
   */
  #onOversize(head: Buffer): void {
    const frame = readFrameHead(head)
    if (frame === undefined) throw protocolError('Oversized frame without an id')
    const { tag, id, seq } = frame
    if (tag === Output.callback || tag === Output.getManyCallback || tag === Output.getManyPart) {
      this.#wire.tooLarge(id)
    } else if (tag === Output.iteratorData || tag === Output.iteratorError) {
      if (seq === undefined) throw protocolError('Oversized iterator frame without a seq')
      this.#wire.routeOf(id)?.onError(seq, FRAME_TOO_LARGE, tooLargeToReceive().message)
    } else if (tag === Output.watchChanges) {
      // Changes we cannot receive: the watch missed them.
      this.#owner.watchGap(this, id)
    } else {
      throw protocolError(`Oversized frame with tag ${tag}`)
    }
  }
}
