import { keyRange } from '@rave-level/protocol'
import type { AbstractLevel } from 'abstract-level'
import type { Dispatcher } from './dispatcher.js'
import { fromBytesAt, toBytes } from './formats.js'
import { GuestWatch, type Watch, type WatchOptions, type WatchShape, watchNotOpen } from './watch.js'

/**
 * @packageDocumentation
 * How `watch()` on a {@link GuestLevel} or on any of its sublevels starts a {@link GuestWatch}:
 * it computes the watch's shape on the database it was made on (range within a sublevel's
 * prefix, decoders), makes the watch a resource of that database, and registers it through the
 * root's dispatcher, in issue order once the root is open.
 */

/** An encoding as abstract-level's `keyEncoding()` returns it. */
interface Encoding {
  readonly format: string
  encode(data: unknown): unknown
  decode(data: unknown): unknown
}

/** What {@link watchShape} needs of a database or sublevel. */
export interface WatchedDb {
  readonly prefix?: string | undefined
  keyEncoding(encoding?: unknown): Encoding
  valueEncoding(encoding?: unknown): Encoding
}

/**
 * The shape of a watch on `db` (a root database or a sublevel, nested or not) with `options`:
 * its range as encoded keys, within the sublevel's prefix (so the leader filters), and how to
 * decode what arrives.
 *
 * @throws abstract-level's `LEVEL_ENCODING_NOT_FOUND` for an unknown encoding.
 */
export function watchShape(db: WatchedDb, options: WatchOptions<unknown>): WatchShape {
  const keyEncoding = db.keyEncoding(options.keyEncoding)
  const valueEncoding = db.valueEncoding(options.valueEncoding)
  const prefix = Buffer.from(db.prefix ?? '', 'utf8')
  const bound = (key: unknown) => (key == null ? undefined : Buffer.concat([prefix, toBytes(keyEncoding.encode(key))]))
  let range = keyRange({
    gt: bound(options.gt),
    gte: bound(options.gte),
    lt: bound(options.lt),
    lte: bound(options.lte)
  })
  if (prefix.length > 0) {
    // Within the sublevel's keys: from its prefix up to, not including, the prefix with its
    // last byte (the separator) one higher, as abstract-level bounds a sublevel's iterators.
    const upper = Buffer.from(prefix)
    upper[upper.length - 1] = (upper[upper.length - 1] as number) + 1
    range = {
      lower: range.lower ?? prefix,
      lowerInclusive: range.lower === undefined ? true : range.lowerInclusive,
      upper: range.upper ?? upper,
      upperInclusive: range.upper === undefined ? false : range.upperInclusive
    }
  }
  const kf = keyEncoding.format
  const vf = valueEncoding.format
  const n = prefix.length
  return {
    range,
    keys: options.keys !== false,
    values: options.values !== false,
    prefix: n,
    decodeKey: (bytes, start, end) => keyEncoding.decode(fromBytesAt(bytes, start + n, end, kf)),
    decodeValue: (bytes, start, end) => valueEncoding.decode(fromBytesAt(bytes, start, end, vf))
  }
}

/** What {@link WatchStarter} needs of the root database: its state, and its deferral until open. */
export interface WatchRoot {
  readonly status: string
  deferAsync<T>(fn: () => Promise<T>): Promise<T>
}

/** What {@link WatchStarter.start} needs of the database a watch is made on. */
export interface Resources {
  readonly status: string
  attachResource(resource: object): void
  detachResource(resource: object): void
}

/**
 * Starts the watches of one root database and of its sublevels, which the root hands it to
 * when it creates them: each watch is a resource of the database it was made on (closing that
 * closes it) and is registered through the root's dispatcher.
 */
export class WatchStarter {
  readonly #root: WatchRoot
  readonly #d: Pick<Dispatcher, 'nextWatchId' | 'watch' | 'releaseWatch'>

  constructor(root: WatchRoot, d: Pick<Dispatcher, 'nextWatchId' | 'watch' | 'releaseWatch'>) {
    this.#root = root
    this.#d = d
  }

  /** A watch on `db` (the root database or a sublevel of it). */
  start<K, V>(db: WatchedDb & Resources, options: WatchOptions<K>): Watch<K, V> {
    if (options === null || typeof options !== 'object')
      throw new TypeError("The first argument 'options' must be an object")
    const shape = watchShape(db, options as WatchOptions<unknown>)
    const d = this.#d
    const w: GuestWatch<K, V> = new GuestWatch<K, V>(d.nextWatchId(), shape, options.signal ?? undefined, (self) => {
      db.detachResource(self)
      return d.releaseWatch(self)
    })
    if (db.status === 'open' || db.status === 'opening') db.attachResource(w)
    if (db === (this.#root as unknown) || db.status !== 'opening') this.#register(w)
    else (db as unknown as AbstractLevel<any>).defer(() => this.#register(w))
    return w
  }

  /** Register `w` in issue order, once the root is open (abstract-level defers it with other operations). */
  #register(w: GuestWatch<any, any>): void {
    const root = this.#root
    if (root.status === 'opening') {
      root.deferAsync(async () => this.#register(w)).catch((err: Error) => w.fail(err))
    } else if (root.status !== 'open') {
      w.fail(watchNotOpen())
    } else {
      this.#d.watch(w)
    }
  }
}
