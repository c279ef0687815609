import { encodeInput, Input, type RangeOptions, rangeBounds, remoteError } from '@rave-level/protocol'
import type { WriteOp } from '@rave-level/store'
import { tooLargeToReceive } from './errors.js'
import { fromBytes } from './formats.js'
import type { GuestSnapshot } from './snapshot.js'
import type { GuestWatch } from './watch.js'

// Operation kinds. They decide how a request is encoded, coalesced, answered and re-applied.
export const GET = 0
export const HAS = 1
export const GET_MANY = 2
export const HAS_MANY = 3
export const PUT = 4
export const DEL = 5
export const BATCH = 6
export const CLEAR = 7
/**
 * The first phase of a `clear()` with a `limit` (see the guest's dispatcher): read the keys it
 * will delete. It then becomes a BATCH of deletes of exactly those keys, which a retry can
 * repeat without deleting more.
 */
export const CLEAR_KEYS = 8
/** Take an explicit snapshot (`a` is the GuestSnapshot). */
export const SNAPSHOT = 9
/** Release one (`a` is the GuestSnapshot). */
export const SNAPSHOT_CLOSE = 10
/** One of classic-level's maintenance methods (`a` is the `Call` message without its id). */
export const CALL = 11
/** Register a change feed (`a` is the GuestWatch); again on each new link. */
export const WATCH = 12
/** Release one (`a` is the GuestWatch). */
export const WATCH_CLOSE = 13

/** Kinds that need an extension of the host (see `FEATURES`), and which one. */
export function featureOf(req: Request): string | undefined {
  const kind = req.kind
  if (kind === SNAPSHOT || kind === SNAPSHOT_CLOSE || req.snap !== undefined) return 'snapshots'
  return kind === CALL ? 'call' : kind === WATCH || kind === WATCH_CLOSE ? 'watch' : undefined
}

/** Most requests coalesced into one frame, and most payload bytes in such a frame. */
const MAX_GROUP = 1024
const MAX_GROUP_BYTES = 1024 * 1024

/** A value of a `getMany` answer, as the wire has it. */
export interface ManyValue {
  value?: Uint8Array
}

/**
 * A host's answer to a frame, as decoded (a `Callback` or `GetManyCallback` message serves
 * as it is): an error code and message, or the value(s) for reads. `oversized` lists the
 * indexes of a `getMany` whose value did not fit in a frame.
 */
export interface Answer {
  readonly error?: string | undefined
  readonly message?: string | undefined
  readonly value?: Uint8Array | undefined
  readonly values?: readonly ManyValue[] | undefined
  readonly oversized?: ReadonlySet<number> | undefined
}

/** The options of a CLEAR or CLEAR_KEYS request: a range of bytes, a limit and a direction. */
export interface ClearRange extends RangeOptions {
  limit: number
  reverse: boolean
}

/**
 * One operation waiting for a host's answer, in issue order (`order`). Keys and values are
 * bytes that only the guest holds (see `toBytes`); batch operations are in the `'buffer'`
 * format.
 */
export class Request {
  /** The explicit snapshot a read reads from. */
  snap: GuestSnapshot | undefined = undefined

  constructor(
    readonly order: number,
    /** Mutable only from CLEAR_KEYS to BATCH. */
    public kind: number,
    /** Key, keys, batch operations or clear options. */
    public a: any,
    /** Value of a put; the value format to answer a get or getMany in. */
    readonly b: any,
    /** Flush to disk before answering (writes). */
    readonly sync: boolean,
    /** When it was issued (epoch ms). */
    readonly time: number,
    readonly resolve: (value: any) => void,
    readonly reject: (err: Error) => void
  ) {}

  /** Settle with a host's answer (see {@link Answer}). */
  answer({ error, message, value, values, oversized }: Answer): void {
    const kind = this.kind
    if (error !== undefined) {
      // The many-level 2 wire answers a get of a missing key so (LevelHost does too).
      if (error === 'LEVEL_NOT_FOUND' && (kind === GET || kind === HAS)) this.resolve(kind === GET ? undefined : false)
      else this.reject(remoteError(error, message))
    } else if (kind === GET) {
      this.resolve(value === undefined ? undefined : fromBytes(value, this.b))
    } else if (kind === HAS) {
      this.resolve(value !== undefined)
    } else if (kind === CALL) {
      this.resolve(value)
    } else if (kind === GET_MANY || kind === HAS_MANY) {
      if (oversized !== undefined && oversized.size > 0) {
        this.reject(tooLargeToReceive())
        return
      }
      const n = (this.a as Buffer[]).length
      const result = new Array(n)
      for (let i = 0; i < n; i++) {
        const v = values?.[i]?.value
        result[i] = kind === HAS_MANY ? v !== undefined : v === undefined ? undefined : fromBytes(v, this.b)
      }
      this.resolve(result)
    } else {
      this.resolve(undefined)
    }
  }
}

/** Encode one request as its own frame, with wire id `id`. */
export function encodeRequest(req: Request, id: number): Buffer {
  const a = req.a
  const sync = req.sync ? true : undefined
  const snapshot = req.snap?.id
  switch (req.kind) {
    case GET:
    case HAS:
      return encodeInput(Input.get, { id, key: a, snapshot })
    case GET_MANY:
    case HAS_MANY:
      return encodeInput(Input.getMany, { id, keys: a, snapshot })
    case SNAPSHOT:
      return encodeInput(Input.snapshot, { id, snapshot: (a as GuestSnapshot).id })
    case SNAPSHOT_CLOSE:
      return encodeInput(Input.snapshotClose, { id, snapshot: (a as GuestSnapshot).id })
    case CALL:
      return encodeInput(Input.call, { id, ...a })
    case WATCH: {
      const w = a as GuestWatch<unknown, unknown>
      return encodeInput(Input.watch, { id, watch: w.id, ...rangeBounds(w.range), keys: w.keys, values: w.values })
    }
    case WATCH_CLOSE:
      return encodeInput(Input.watchClose, { id, watch: (a as GuestWatch<unknown, unknown>).id })
    case PUT:
      return encodeInput(Input.put, { id, key: a, value: req.b, sync })
    case DEL:
      return encodeInput(Input.del, { id, key: a, sync })
    case BATCH:
      return encodeInput(Input.batch, { id, ops: a, sync })
    case CLEAR_KEYS: {
      const { limit, reverse, ...range } = a as ClearRange
      // Always send limit, keys, values and reverse: many-level's decoder fills absent numbers
      // and booleans with 0 and false.
      const options = { keys: true, values: false, ...range, limit, reverse }
      return encodeInput(Input.iterator, { id, seq: 0, options, consumed: 0, snapshot })
    }
    default:
      return encodeInput(Input.clear, { id, options: a, snapshot })
  }
}

/**
 * Requests that can share one frame: consecutive single-key reads become one `GetMany`,
 * consecutive writes one `Batch`. The host then does one `getMany()` or one `batch()` instead of
 * many calls, which is what makes pipelined operations cheap for it. Reads stay reads and
 * writes stay writes, so the order of reads relative to writes is unchanged.
 */
const READ = 1
const WRITE = 2

function groupOf(kind: number): number {
  return kind === GET || kind === HAS ? READ : kind === PUT || kind === DEL || kind === BATCH ? WRITE : 0
}

function bytesOf(req: Request): number {
  if (req.kind === BATCH) {
    let n = 0
    for (const op of req.a as WriteOp[]) n += op.key.length + (op.value?.length ?? 0)
    return n
  }
  return (req.a as Buffer).length + (req.kind === PUT ? (req.b as Buffer).length : 0)
}

/**
 * How many of `items`, starting at `start`, go into one frame: 1, or a run of requests of the
 * same group (bounded in count, and in payload bytes by `cap` and 1 MiB).
 */
export function runLength(items: readonly unknown[], start: number, cap: number): number {
  const first = items[start]
  if (!(first instanceof Request)) return 1
  const group = groupOf(first.kind)
  if (group === 0) return 1
  let end = start + 1
  let bytes = bytesOf(first)
  while (end < items.length && end - start < MAX_GROUP) {
    const next = items[end]
    // One frame reads from one snapshot (or none).
    if (!(next instanceof Request) || groupOf(next.kind) !== group || next.snap !== first.snap) break
    bytes += bytesOf(next)
    if (bytes > MAX_GROUP_BYTES || bytes > cap) break
    end++
  }
  return end - start
}

/** Encode a run of two or more requests of one group as a single frame. */
export function encodeRun(reqs: readonly Request[], id: number): Buffer {
  if (groupOf((reqs[0] as Request).kind) === READ) {
    const keys = new Array(reqs.length)
    for (let i = 0; i < reqs.length; i++) keys[i] = (reqs[i] as Request).a
    return encodeInput(Input.getMany, { id, keys, snapshot: (reqs[0] as Request).snap?.id })
  }
  const ops: { type: string; key: Buffer; value?: Buffer }[] = []
  let sync = false
  for (const req of reqs) {
    if (req.sync) sync = true
    if (req.kind === PUT) ops.push({ type: 'put', key: req.a, value: req.b })
    else if (req.kind === DEL) ops.push({ type: 'del', key: req.a })
    else for (const op of req.a as WriteOp[]) ops.push(op)
  }
  return encodeInput(Input.batch, { id, ops, sync: sync ? true : undefined })
}
