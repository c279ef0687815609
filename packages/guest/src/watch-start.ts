import type { AbstractLevel } from 'abstract-level'
import type { Dispatcher } from './dispatcher.js'
import type { GuestLevel } from './guest-level.js'
import { GuestWatch, type Watch, type WatchOptions, watchNotOpen } from './watch.js'
import { type WatchedDb, watchShape } from './watch-shape.js'

/**
 * @packageDocumentation
 * How `watch()` on a {@link GuestLevel} or on any of its sublevels starts a {@link GuestWatch}:
 * it makes the watch a resource of the database it was made on, and registers it through the
 * root's dispatcher, in issue order once the root is open. The root's private dispatcher reaches
 * this module once, through {@link grantWatchAccess}.
 */

/** How this module reaches a root {@link GuestLevel}'s dispatcher (set by its static block). */
let dispatcherOf: (db: GuestLevel<any, any>) => Dispatcher

/** Called once, by {@link GuestLevel}'s static block. */
export function grantWatchAccess(granted: (db: GuestLevel<any, any>) => Dispatcher): void {
  dispatcherOf = granted
}

/** Register `w` through `root`'s dispatcher in issue order, once open (abstract-level defers it with other operations). */
function register(root: GuestLevel<any, any>, w: GuestWatch<any, any>): void {
  if (root.status === 'opening') {
    root.deferAsync(async () => register(root, w)).catch((err: Error) => w.fail(err))
  } else if (root.status !== 'open') {
    w.fail(watchNotOpen())
  } else {
    dispatcherOf(root).watch(w)
  }
}

/** What {@link startWatch} needs of the database a watch is made on. */
export interface Resources {
  readonly status: string
  attachResource(resource: object): void
  detachResource(resource: object): void
}

/**
 * A watch on `db` (the root database or a sublevel of it), registered through `root`. It is a
 * resource of `db`: closing `db` closes it.
 */
export function startWatch<K, V>(
  db: WatchedDb & Resources,
  root: GuestLevel<any, any>,
  options: WatchOptions<K>
): Watch<K, V> {
  if (options === null || typeof options !== 'object')
    throw new TypeError("The first argument 'options' must be an object")
  const shape = watchShape(db, options as WatchOptions<unknown>)
  const d = dispatcherOf(root)
  const w: GuestWatch<K, V> = new GuestWatch<K, V>(d.nextWatchId(), shape, options.signal ?? undefined, (self) => {
    db.detachResource(self)
    return d.releaseWatch(self)
  })
  if (db.status === 'open' || db.status === 'opening') db.attachResource(w)
  if (db === (root as unknown) || db.status !== 'opening') register(root, w)
  else (db as unknown as AbstractLevel<any>).defer(() => register(root, w))
  return w
}
