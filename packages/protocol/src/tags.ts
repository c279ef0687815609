import type { Schema } from './codec.js'
import { schemas } from './messages.js'

/** Tags of messages a guest sends to a host (the first byte of a frame). */
export const Input = Object.freeze({
  get: 0,
  put: 1,
  del: 2,
  batch: 3,
  iterator: 4,
  clear: 5,
  getMany: 6,
  iteratorClose: 7,
  iteratorAck: 8,
  iteratorSeek: 9,
  /** Extension: the first frame a rave-level guest sends (see the README). */
  hello: 64,
  /** Extension: take an explicit snapshot. */
  snapshot: 65,
  /** Extension: release an explicit snapshot. */
  snapshotClose: 66,
  /** Extension: one of classic-level's maintenance methods. */
  call: 67,
  /** Extension: start a change feed. */
  watch: 68,
  /** Extension: stop a change feed. */
  watchClose: 69,
  /** Network connections: the guest's credentials, its first frame (see the README). */
  auth: 70,
  /** Extension (`cache`): ask for, or renew, a lease on what the guest keeps. (70 is `auth`.) */
  cacheLease: 71,
  /** Extension (`cache`): an invalidation was done. */
  cacheAck: 72
} as const)

/** Tags of messages a host sends to a guest. */
export const Output = Object.freeze({
  callback: 0,
  iteratorData: 1,
  getManyCallback: 2,
  iteratorError: 3,
  iteratorEnd: 4,
  /** Extension: a host's answer to `hello`. */
  hello: 64,
  /** Extension: the host is alive (sent while a guest waits for it). */
  heartbeat: 65,
  /** Extension: part of a `getManyCallback` too large for one frame. */
  getManyPart: 66,
  /** Extension: changes for a watch. */
  watchChanges: 67,
  /** Extension: a watch missed changes. */
  watchGap: 68,
  /** Network connections: the host's answer to `auth`. */
  authResult: 69,
  /** Extension (`cache`): a lease granted. (69 is `authResult`.) */
  cacheGrant: 70,
  /** Extension (`cache`): drop keys the guest may keep. */
  cacheInvalidate: 71
} as const)

/** An input tag. */
export type InputTag = (typeof Input)[keyof typeof Input]
/** An output tag. */
export type OutputTag = (typeof Output)[keyof typeof Output]

function table(entries: [number, Schema][]): readonly (Schema | undefined)[] {
  const out: (Schema | undefined)[] = []
  for (const [tag, s] of entries) out[tag] = s
  return out
}

/** Schema of each input tag, indexed by tag. */
export const inputSchemas = table([
  [Input.get, schemas.Get],
  [Input.put, schemas.Put],
  [Input.del, schemas.Delete],
  [Input.batch, schemas.Batch],
  [Input.iterator, schemas.Iterator],
  [Input.clear, schemas.Clear],
  [Input.getMany, schemas.GetMany],
  [Input.iteratorClose, schemas.IteratorClose],
  [Input.iteratorAck, schemas.IteratorAck],
  [Input.iteratorSeek, schemas.IteratorSeek],
  [Input.hello, schemas.Hello],
  [Input.snapshot, schemas.Snapshot],
  [Input.snapshotClose, schemas.SnapshotClose],
  [Input.call, schemas.Call],
  [Input.watch, schemas.Watch],
  [Input.watchClose, schemas.WatchClose],
  [Input.auth, schemas.Auth],
  [Input.cacheLease, schemas.CacheLease],
  [Input.cacheAck, schemas.CacheAck]
])

/** Schema of each output tag, indexed by tag. */
export const outputSchemas = table([
  [Output.callback, schemas.Callback],
  [Output.iteratorData, schemas.IteratorData],
  [Output.getManyCallback, schemas.GetManyCallback],
  [Output.iteratorError, schemas.IteratorError],
  [Output.iteratorEnd, schemas.IteratorEnd],
  [Output.hello, schemas.Hello],
  [Output.heartbeat, schemas.Heartbeat],
  [Output.getManyPart, schemas.GetManyPart],
  [Output.watchChanges, schemas.WatchChanges],
  [Output.watchGap, schemas.WatchGap],
  [Output.authResult, schemas.AuthResult],
  [Output.cacheGrant, schemas.CacheGrant],
  [Output.cacheInvalidate, schemas.CacheInvalidate]
])
