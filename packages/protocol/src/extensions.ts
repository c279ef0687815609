import { readVarint } from './varint.js'

/**
 * Version of the extension protocol (the `Hello` exchange; see the README). Bumped only for
 * incompatible changes: new messages are new features.
 */
export const EXTENSION_VERSION = 1

/**
 * The extensions a rave-level guest and host support, named in their `Hello`s:
 * - `heartbeat`: `Heartbeat` frames while the guest waits for the host;
 * - `messages`: error replies carry the error's message next to its code;
 * - `frame-limit`: answers never exceed the guest's `maxFrameSize` (`LEVEL_FRAME_TOO_LARGE`, or
 *   a `getMany` answer in `GetManyPart`s);
 * - `sync`: `Put`, `Delete` and `Batch` honour their `sync` field;
 * - `snapshots`: explicit snapshots (`Snapshot`, `SnapshotClose`, and the `snapshot` field of
 *   `Get`, `GetMany` and `Iterator`);
 * - `call`: classic-level's maintenance methods (`Call`);
 * - `watch`: change feeds (`Watch`, `WatchClose`, `WatchChanges`, `WatchGap`);
 * - `cache`: a guest keeps answers to its reads under a lease, and the host invalidates them
 *   before a write of their keys commits (`CacheLease`, `CacheGrant`, `CacheInvalidate`,
 *   `CacheAck`, and the `cache` field of `Callback` and `GetManyCallback`).
 */
export const FEATURES: readonly string[] = Object.freeze([
  'heartbeat',
  'messages',
  'frame-limit',
  'sync',
  'snapshots',
  'call',
  'watch',
  'cache'
])

/** The start of an output frame: its tag, `id` and, for iterator messages, `seq`. */
export interface FrameHead {
  tag: number
  id: number
  seq: number | undefined
}

/**
 * Read the tag, `id` and (when it follows) `seq` from the first bytes of an output frame's body,
 * as `FrameDecoder`'s `onOversize` hands them over. Every output message starts with field 1
 * (`id`); iterator messages have field 2 (`seq`) next. `undefined` if the bytes do not start so.
 */
export function readFrameHead(head: Uint8Array): FrameHead | undefined {
  const tag = head[0]
  if (tag === undefined || head[1] !== 0x08) return undefined
  const id = readVarint(head, 2, head.length)
  if (id < 0) return undefined
  let offset = 2
  while (offset < head.length && (head[offset] as number) >= 0x80) offset++
  offset++
  const seq = head[offset] === 0x10 ? readVarint(head, offset + 1, head.length) : -1
  return { tag, id, seq: seq < 0 ? undefined : seq }
}
