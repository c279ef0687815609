import { cacheField, cacheSchemas } from './cache-messages.js'
import { type Schema, schema } from './codec.js'

/*
 * The many-level 2 schema (its `schema.proto`), as field tables. Field numbers and
 * requiredness match many-level 2.0.0 exactly, because its decoder rejects a message that
 * lacks a required field.
 */

const bounds = [
  { no: 3, name: 'gt', type: 'bytes' },
  { no: 4, name: 'gte', type: 'bytes' },
  { no: 5, name: 'lt', type: 'bytes' },
  { no: 6, name: 'lte', type: 'bytes' }
] as const
const range = [...bounds, { no: 7, name: 'limit', type: 'sint' }, { no: 8, name: 'reverse', type: 'bool' }] as const

const BatchOperation = schema('Batch.Operation', [
  { no: 1, name: 'type', type: 'string', required: true },
  { no: 2, name: 'key', type: 'bytes', required: true },
  { no: 3, name: 'value', type: 'bytes' }
])
const ClearOptions = schema('Clear.ClearOptions', [...range])
const IteratorOptions = schema('Iterator.Options', [
  { no: 1, name: 'keys', type: 'bool' },
  { no: 2, name: 'values', type: 'bool' },
  ...range
])
const ManyValue = schema('GetManyCallback.Value', [{ no: 1, name: 'value', type: 'bytes' }])
const WatchChange = schema('WatchChanges.Change', [
  { no: 1, name: 'type', type: 'string', required: true },
  { no: 2, name: 'key', type: 'bytes' },
  { no: 3, name: 'value', type: 'bytes' }
])

const id = { no: 1, name: 'id', type: 'uint', required: true } as const
const seq = { no: 2, name: 'seq', type: 'uint', required: true } as const
/**
 * Fields beyond many-level 2's schema, numbered 15 so that they never meet a future field of
 * it. A many-level 2 peer skips them (proto2 skips unknown fields).
 */
const sync = { no: 15, name: 'sync', type: 'bool' } as const
const message = { no: 15, name: 'message', type: 'string' } as const
const snapshot = { no: 14, name: 'snapshot', type: 'uint' } as const

/** Field tables of every message, by name. */
export const schemas = {
  Get: schema('Get', [id, { no: 2, name: 'key', type: 'bytes', required: true }, snapshot]),
  Put: schema('Put', [
    id,
    { no: 2, name: 'key', type: 'bytes', required: true },
    { no: 3, name: 'value', type: 'bytes' },
    sync
  ]),
  Delete: schema('Delete', [id, { no: 2, name: 'key', type: 'bytes', required: true }, sync]),
  Batch: schema('Batch', [id, { no: 2, name: 'ops', type: BatchOperation, repeated: true }, sync]),
  Clear: schema('Clear', [id, { no: 2, name: 'options', type: ClearOptions }, snapshot]),
  Iterator: schema('Iterator', [
    id,
    seq,
    { no: 3, name: 'options', type: IteratorOptions, required: true },
    { no: 4, name: 'consumed', type: 'uint', required: true },
    { no: 5, name: 'bookmark', type: 'bytes' },
    { no: 6, name: 'seek', type: 'bytes' },
    snapshot
  ]),
  Callback: schema('Callback', [
    id,
    { no: 2, name: 'error', type: 'string' },
    { no: 3, name: 'value', type: 'bytes' },
    message,
    cacheField
  ]),
  IteratorData: schema('IteratorData', [id, seq, { no: 3, name: 'data', type: 'bytes', repeated: true }]),
  IteratorAck: schema('IteratorAck', [id, seq, { no: 3, name: 'consumed', type: 'uint', required: true }]),
  IteratorSeek: schema('IteratorSeek', [id, seq, { no: 3, name: 'target', type: 'bytes', required: true }]),
  IteratorEnd: schema('IteratorEnd', [id, seq]),
  IteratorError: schema('IteratorError', [id, seq, { no: 3, name: 'error', type: 'string', required: true }, message]),
  IteratorClose: schema('IteratorClose', [id]),
  GetMany: schema('GetMany', [id, { no: 2, name: 'keys', type: 'bytes', repeated: true }, snapshot]),
  GetManyCallback: schema('GetManyCallback', [
    id,
    { no: 2, name: 'error', type: 'string' },
    { no: 3, name: 'values', type: ManyValue, repeated: true },
    message,
    cacheField
  ]),
  // Extensions (see the README): messages that many-level 2 does not know. A many-level 2
  // peer never receives one, because they are only sent after a Hello exchange.
  Hello: schema('Hello', [
    { no: 1, name: 'version', type: 'uint', required: true },
    { no: 2, name: 'features', type: 'string', repeated: true },
    { no: 3, name: 'maxFrameSize', type: 'uint' },
    { no: 4, name: 'heartbeat', type: 'uint' },
    { no: 5, name: 'pid', type: 'uint' }
  ]),
  Heartbeat: schema('Heartbeat', []),
  Snapshot: schema('Snapshot', [id, { no: 2, name: 'snapshot', type: 'uint', required: true }]),
  SnapshotClose: schema('SnapshotClose', [id, { no: 2, name: 'snapshot', type: 'uint', required: true }]),
  Call: schema('Call', [
    id,
    { no: 2, name: 'method', type: 'string', required: true },
    { no: 3, name: 'start', type: 'bytes' },
    { no: 4, name: 'end', type: 'bytes' },
    { no: 5, name: 'property', type: 'string' }
  ]),
  GetManyPart: schema('GetManyPart', [
    id,
    { no: 2, name: 'start', type: 'uint', required: true },
    { no: 3, name: 'values', type: ManyValue, repeated: true },
    { no: 4, name: 'oversized', type: 'uint', repeated: true }
  ]),
  Watch: schema('Watch', [
    id,
    { no: 2, name: 'watch', type: 'uint', required: true },
    ...bounds,
    { no: 7, name: 'keys', type: 'bool' },
    { no: 8, name: 'values', type: 'bool' }
  ]),
  WatchClose: schema('WatchClose', [id, { no: 2, name: 'watch', type: 'uint', required: true }]),
  WatchChanges: schema('WatchChanges', [id, { no: 2, name: 'changes', type: WatchChange, repeated: true }]),
  WatchGap: schema('WatchGap', [id]),
  // Authentication, before anything else on a network connection (see the README).
  Auth: schema('Auth', [{ no: 1, name: 'token', type: 'string' }]),
  AuthResult: schema('AuthResult', [
    { no: 1, name: 'access', type: 'string' },
    { no: 2, name: 'error', type: 'string' },
    message
  ]),
  ...cacheSchemas
} satisfies Record<string, Schema>

/** Range options shared by iterators and `clear()`. Keys are encoded bytes. */
export interface RangeOptions {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  /** `-1` (or absent) means no limit. */
  limit?: number
  reverse?: boolean
}

/** `Get`: guest → host. `snapshot` (an extension) reads from a snapshot of this connection. */
export interface GetMessage {
  id: number
  key: Uint8Array
  snapshot?: number | undefined
}
/** `Put`: guest → host. `sync` is an extension (see the README). */
export interface PutMessage {
  id: number
  key: Uint8Array
  value?: Uint8Array
  sync?: boolean
}
/** `Delete`: guest → host. */
export interface DeleteMessage {
  id: number
  key: Uint8Array
  sync?: boolean
}
/** One operation of a `Batch`. `type` is `'put'` or `'del'`. */
export interface BatchOperationMessage {
  type: string
  key: Uint8Array
  value?: Uint8Array
}
/** `Batch`: guest → host. */
export interface BatchMessage {
  id: number
  ops: BatchOperationMessage[]
  sync?: boolean
}
/** `Clear`: guest → host. */
export interface ClearMessage {
  id: number
  options?: RangeOptions
  /** An extension: clear only the entries of this snapshot of the connection. */
  snapshot?: number | undefined
}
/** Options of an iterator request. */
export interface IteratorOptionsMessage extends RangeOptions {
  keys?: boolean
  values?: boolean
}
/** `Iterator`: guest → host. Opens (or, with `bookmark`/`seek`, re-opens) an iterator. */
export interface IteratorMessage {
  id: number
  seq: number
  options: IteratorOptionsMessage
  consumed: number
  bookmark?: Uint8Array
  seek?: Uint8Array
  snapshot?: number | undefined
}
/** `IteratorAck`: guest → host, after consuming one `IteratorData`. */
export interface IteratorAckMessage {
  id: number
  seq: number
  consumed: number
}
/** `IteratorSeek`: guest → host. */
export interface IteratorSeekMessage {
  id: number
  seq: number
  target: Uint8Array
}
/** `IteratorClose`: guest → host. */
export interface IteratorCloseMessage {
  id: number
}
/** `GetMany`: guest → host. */
export interface GetManyMessage {
  id: number
  keys: Uint8Array[]
  snapshot?: number | undefined
}
/** `Callback`: host → guest, the reply to get/put/del/batch/clear. */
export interface CallbackMessage {
  id: number
  error?: string
  value?: Uint8Array
  /** The error's message (an extension), bounded by {@link MAX_MESSAGE_LENGTH}. */
  message?: string | undefined
  /** The `cache` extension: the guest may keep this answer to a get (see `CacheInvalidate`). */
  cache?: boolean | undefined
}
/** `IteratorData`: host → guest. `data` holds keys and/or values, interleaved for entries. */
export interface IteratorDataMessage {
  id: number
  seq: number
  data: Uint8Array[]
}
/** `IteratorEnd`: host → guest. */
export interface IteratorEndMessage {
  id: number
  seq: number
}
/** `IteratorError`: host → guest. */
export interface IteratorErrorMessage {
  id: number
  seq: number
  error: string
  message?: string | undefined
}
/** `GetManyCallback`: host → guest. A missing `value` means the key was not found. */
export interface GetManyCallbackMessage {
  id: number
  error?: string
  values: { value?: Uint8Array }[]
  message?: string | undefined
  /** The `cache` extension: the guest may keep these answers (see `CacheInvalidate`). */
  cache?: boolean | undefined
}
/**
 * `Hello` (an extension, both directions). A guest sends it first on every connection with
 * what it can do; a host that knows it answers at once, before anything else, with what it
 * can do. `features` names the extensions the sender supports; each side uses only what both
 * named. `maxFrameSize` is the largest frame the sender accepts; `heartbeat` (guest only) asks
 * the host to send a `Heartbeat` every so many milliseconds while the guest waits for it;
 * `pid` (host only) is the host's process id.
 */
export interface HelloMessage {
  version: number
  features: string[]
  maxFrameSize?: number | undefined
  heartbeat?: number | undefined
  pid?: number | undefined
}
/**
 * `Snapshot` (an extension, guest → host): take an explicit snapshot of the database, in issue
 * order, known on this connection as `snapshot` (a number the guest chose). Answered by a
 * `Callback`. It lives until `SnapshotClose` or the end of the connection.
 */
export interface SnapshotMessage {
  id: number
  snapshot: number
}
/** `SnapshotClose` (an extension, guest → host): release snapshot `snapshot`. Answered by a `Callback`. */
export interface SnapshotCloseMessage {
  id: number
  snapshot: number
}
/**
 * `Call` (an extension, guest → host): one of classic-level's maintenance methods, named by
 * `method`: `approximateSize` and `compactRange` (with encoded `start` and `end`) or
 * `getProperty` (with `property`). Answered by a `Callback` whose `value` is the result as
 * UTF-8 text (a decimal number for `approximateSize`; absent for `compactRange`).
 */
export interface CallMessage {
  id: number
  method: string
  start?: Uint8Array | undefined
  end?: Uint8Array | undefined
  property?: string | undefined
}
/** `Heartbeat` (an extension, host → guest): the host's event loop is alive. */
export type HeartbeatMessage = Record<string, never>
/**
 * `GetManyPart` (an extension, host → guest): part of the answer to a `GetMany` whose
 * `GetManyCallback` would exceed the guest's `maxFrameSize`. Parts arrive in order and cover
 * the keys from `start` on; the answer is complete when they cover every key. `oversized` lists
 * the indexes (counted from `start`) whose value alone does not fit in a frame: they are left
 * out of `values` as if missing, and the guest fails them with `LEVEL_FRAME_TOO_LARGE`.
 */
export interface GetManyPartMessage {
  id: number
  start: number
  values: { value?: Uint8Array }[]
  oversized: number[]
}
/**
 * `Watch` (an extension, guest → host): from now on, send this connection every change the
 * database commits to a key in the range (`gt`/`gte`/`lt`/`lte`, encoded keys), as
 * `WatchChanges` with `id` = `watch` (a number the guest chose). It is registered in issue
 * order: it sees every write this guest sends after it. `keys` and `values` (both sent; absent
 * means `false`) say what each change carries. Answered by a `Callback` once registered. It
 * lives until `WatchClose` or the end of the connection.
 */
export interface WatchMessage {
  id: number
  watch: number
  gt?: Uint8Array | undefined
  gte?: Uint8Array | undefined
  lt?: Uint8Array | undefined
  lte?: Uint8Array | undefined
  keys?: boolean | undefined
  values?: boolean | undefined
}
/** `WatchClose` (an extension, guest → host): stop watch `watch`. Answered by a `Callback`. */
export interface WatchCloseMessage {
  id: number
  watch: number
}
/** One change of a `WatchChanges`: `type` is `'put'` or `'del'`; `key` and `value` as the watch asked. */
export interface WatchChangeMessage {
  type: string
  key?: Uint8Array | undefined
  value?: Uint8Array | undefined
}
/**
 * `WatchChanges` (an extension, host → guest): changes for watch `id`, in the order the
 * database committed them. The changes of one write are consecutive (they may span several
 * messages, each within the guest's `maxFrameSize`).
 */
export interface WatchChangesMessage {
  id: number
  changes: WatchChangeMessage[]
}
/**
 * `WatchGap` (an extension, host → guest): changes for watch `id` were dropped here (the guest
 * did not read them fast enough, or one did not fit in a frame). The watch goes on with the
 * changes after them.
 */
export interface WatchGapMessage {
  id: number
}
/**
 * `Auth` (guest → host, network connections only): the first frame a guest sends to a host that
 * listens on TCP, before its `Hello`; `token` is a bearer token (absent when the guest
 * authenticates with its TLS client certificate alone). Answered by one `AuthResult`; nothing
 * else is read or served before it. Never sent over the unix socket.
 */
export interface AuthMessage {
  token?: string | undefined
}
/**
 * `AuthResult` (host → guest): the answer to `Auth`. On success `access` is `'readwrite'` or
 * `'readonly'` and the connection goes on as any other; on failure `error` is a `LEVEL_*` code
 * (`LEVEL_AUTH_FAILED`, `LEVEL_PROTOCOL_ERROR`, `LEVEL_FRAME_TOO_LARGE`) with a bounded
 * `message`, and the host closes the connection.
 */
export interface AuthResultMessage {
  access?: string | undefined
  error?: string | undefined
  message?: string | undefined
}
