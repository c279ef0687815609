import { encodeInput, Input, type RangeOptions, rangeBounds, remoteError } from '@rave-level/protocol'
import type { MaintenanceCall, WriteOp } from '@rave-level/store'
import { tooLargeToReceive } from './errors.js'
import { fromBytes } from './formats.js'
import type { GuestSnapshot } from './snapshot.js'
import type { GuestWatch } from './watch.js'

/**
 * One operation for a host, by kind. Keys and values are bytes that only the guest holds (see
 * `toBytes`); batch operations are in the `'buffer'` format. `snap` is the explicit snapshot a
 * read (or a clear) reads from; `format` the value format a `get` or `getMany` answers in.
 */
export type Operation =
  | {
      readonly kind: 'get'
      readonly key: Buffer
      readonly format: string | undefined
      readonly snap?: GuestSnapshot | undefined
    }
  | { readonly kind: 'has'; readonly key: Buffer; readonly snap?: GuestSnapshot | undefined }
  | {
      readonly kind: 'getMany'
      readonly keys: Buffer[]
      readonly format: string | undefined
      readonly snap?: GuestSnapshot | undefined
    }
  | { readonly kind: 'hasMany'; readonly keys: Buffer[]; readonly snap?: GuestSnapshot | undefined }
  | { readonly kind: 'put'; readonly key: Buffer; readonly value: Buffer; readonly sync: boolean }
  | { readonly kind: 'del'; readonly key: Buffer; readonly sync: boolean }
  | { readonly kind: 'batch'; readonly ops: WriteOp[]; readonly sync: boolean }
  | { readonly kind: 'clear'; readonly range: ClearRange; readonly snap?: GuestSnapshot | undefined }
  /**
   * The first phase of a `clear()` with a `limit` (see {@link Pending}): read the keys it will
   * delete. It then becomes a `batch` of deletes of exactly those keys, which a retry can
   * repeat without deleting more.
   */
  | { readonly kind: 'clearKeys'; readonly range: ClearRange; readonly snap?: GuestSnapshot | undefined }
  /** Take an explicit snapshot. */
  | { readonly kind: 'snapshot'; readonly snapshot: GuestSnapshot }
  /** Release one. */
  | { readonly kind: 'snapshotClose'; readonly snapshot: GuestSnapshot }
  /** One of classic-level's maintenance methods (the `Call` message without its id). */
  | { readonly kind: 'call'; readonly call: MaintenanceCall }
  /** Register a change feed; again on each new link. */
  | { readonly kind: 'watch'; readonly watch: GuestWatch<unknown, unknown> }
  /** Release one. */
  | { readonly kind: 'watchClose'; readonly watch: GuestWatch<unknown, unknown> }

/** What each kind of operation resolves with. */
export interface Results {
  get: unknown
  has: boolean
  getMany: unknown[]
  hasMany: boolean[]
  put: void
  del: void
  batch: void
  clear: void
  clearKeys: void
  snapshot: void
  snapshotClose: void
  call: Uint8Array | undefined
  watch: void
  watchClose: void
}

/** The explicit snapshot `op` reads from, if any. */
export function snapOf(op: Operation): GuestSnapshot | undefined {
  return 'snap' in op ? op.snap : undefined
}

/** Kinds that need an extension of the host (see `FEATURES`), and which one. */
export function featureOf(op: Operation): string | undefined {
  const kind = op.kind
  if (kind === 'snapshot' || kind === 'snapshotClose' || snapOf(op) !== undefined) return 'snapshots'
  return kind === 'call' ? 'call' : kind === 'watch' || kind === 'watchClose' ? 'watch' : undefined
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

/** The options of a `clear` or `clearKeys` operation: a range of bytes, a limit and a direction. */
export interface ClearRange extends RangeOptions {
  limit: number
  reverse: boolean
}

/**
 * One operation waiting for a host's answer, in issue order (`order`), and the caller's promise.
 */
export class Request {
  constructor(
    readonly order: number,
    /** Mutable only from `clearKeys` to `batch` (see {@link Pending.collected}). */
    public op: Operation,
    /** When it was issued (epoch ms). */
    readonly time: number,
    readonly resolve: (value: any) => void,
    readonly reject: (err: Error) => void
  ) {}

  /** The explicit snapshot it reads from, if any. */
  get snap(): GuestSnapshot | undefined {
    return snapOf(this.op)
  }

  /** Settle with a host's answer (see {@link Answer}). */
  answer({ error, message, value, values, oversized }: Answer): void {
    const op = this.op
    const kind = op.kind
    if (error !== undefined) {
      // The many-level 2 wire answers a get of a missing key so (LevelHost does too).
      if (error === 'LEVEL_NOT_FOUND' && (kind === 'get' || kind === 'has'))
        this.resolve(kind === 'get' ? undefined : false)
      else this.reject(remoteError(error, message))
    } else if (op.kind === 'get') {
      this.resolve(value === undefined ? undefined : fromBytes(value, op.format))
    } else if (op.kind === 'has') {
      this.resolve(value !== undefined)
    } else if (op.kind === 'call') {
      this.resolve(value)
    } else if (op.kind === 'getMany' || op.kind === 'hasMany') {
      if (oversized !== undefined && oversized.size > 0) {
        this.reject(tooLargeToReceive())
        return
      }
      const n = op.keys.length
      const result = new Array(n)
      for (let i = 0; i < n; i++) {
        const v = values?.[i]?.value
        result[i] = op.kind === 'hasMany' ? v !== undefined : v === undefined ? undefined : fromBytes(v, op.format)
      }
      this.resolve(result)
    } else {
      this.resolve(undefined)
    }
  }
}

/** Encode one request as its own frame, with wire id `id`. */
export function encodeRequest(req: Request, id: number): Buffer {
  const op = req.op
  switch (op.kind) {
    case 'get':
    case 'has':
      return encodeInput(Input.get, { id, key: op.key, snapshot: op.snap?.id })
    case 'getMany':
    case 'hasMany':
      return encodeInput(Input.getMany, { id, keys: op.keys, snapshot: op.snap?.id })
    case 'snapshot':
      return encodeInput(Input.snapshot, { id, snapshot: op.snapshot.id })
    case 'snapshotClose':
      return encodeInput(Input.snapshotClose, { id, snapshot: op.snapshot.id })
    case 'call':
      return encodeInput(Input.call, { id, ...op.call })
    case 'watch': {
      const w = op.watch
      return encodeInput(Input.watch, { id, watch: w.id, ...rangeBounds(w.range), keys: w.keys, values: w.values })
    }
    case 'watchClose':
      return encodeInput(Input.watchClose, { id, watch: op.watch.id })
    case 'put':
      return encodeInput(Input.put, { id, key: op.key, value: op.value, sync: op.sync ? true : undefined })
    case 'del':
      return encodeInput(Input.del, { id, key: op.key, sync: op.sync ? true : undefined })
    case 'batch':
      return encodeInput(Input.batch, { id, ops: op.ops, sync: op.sync ? true : undefined })
    case 'clearKeys': {
      const { limit, reverse, ...range } = op.range
      // Always send limit, keys, values and reverse: many-level's decoder fills absent numbers
      // and booleans with 0 and false.
      const options = { keys: true, values: false, ...range, limit, reverse }
      return encodeInput(Input.iterator, { id, seq: 0, options, consumed: 0, snapshot: op.snap?.id })
    }
    case 'clear':
      return encodeInput(Input.clear, { id, options: op.range, snapshot: op.snap?.id })
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

function groupOf(kind: Operation['kind']): number {
  return kind === 'get' || kind === 'has' ? READ : kind === 'put' || kind === 'del' || kind === 'batch' ? WRITE : 0
}

/** Payload bytes of an operation of a group (a read or a write). */
function bytesOf(op: Operation): number {
  if (op.kind === 'batch') {
    let n = 0
    for (const w of op.ops) n += (w.key as Buffer).length + ((w.value as Buffer | undefined)?.length ?? 0)
    return n
  }
  if (op.kind === 'put') return op.key.length + op.value.length
  return op.kind === 'get' || op.kind === 'has' || op.kind === 'del' ? op.key.length : 0
}

/**
 * How many of `items`, starting at `start`, go into one frame: 1, or a run of requests of the
 * same group (bounded in count, and in payload bytes by `cap` and 1 MiB).
 */
export function runLength(items: readonly unknown[], start: number, cap: number): number {
  const first = items[start]
  if (!(first instanceof Request)) return 1
  const group = groupOf(first.op.kind)
  if (group === 0) return 1
  let end = start + 1
  let bytes = bytesOf(first.op)
  while (end < items.length && end - start < MAX_GROUP) {
    const next = items[end]
    // One frame reads from one snapshot (or none).
    if (!(next instanceof Request) || groupOf(next.op.kind) !== group || next.snap !== first.snap) break
    bytes += bytesOf(next.op)
    if (bytes > MAX_GROUP_BYTES || bytes > cap) break
    end++
  }
  return end - start
}

/** Encode a run of two or more requests of one group as a single frame. */
export function encodeRun(reqs: readonly Request[], id: number): Buffer {
  const first = reqs[0] as Request
  if (groupOf(first.op.kind) === READ) {
    const keys = new Array<Buffer>(reqs.length)
    for (let i = 0; i < reqs.length; i++) keys[i] = ((reqs[i] as Request).op as { key: Buffer }).key
    return encodeInput(Input.getMany, { id, keys, snapshot: first.snap?.id })
  }
  const ops: { type: string; key: Buffer; value?: Buffer }[] = []
  let sync = false
  for (const { op } of reqs) {
    if (op.kind === 'put') ops.push({ type: 'put', key: op.key, value: op.value })
    else if (op.kind === 'del') ops.push({ type: 'del', key: op.key })
    else if (op.kind === 'batch') for (const w of op.ops) ops.push(w as { type: string; key: Buffer; value?: Buffer })
    else continue
    if (op.sync) sync = true
  }
  return encodeInput(Input.batch, { id, ops, sync: sync ? true : undefined })
}
