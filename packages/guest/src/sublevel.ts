import { AbstractSublevel, type AbstractSublevelOptions } from 'abstract-level'
import type { Watch, WatchOptions } from './watch.js'
import type { Resources, WatchedDb, WatchStarter } from './watch-start.js'

/**
 * A sublevel of a {@link GuestLevel} (or of one of its sublevels): abstract-level's, plus
 * {@link GuestSublevel.watch}.
 */
export class GuestSublevel<K = string, V = string> extends AbstractSublevel<any, string | Buffer | Uint8Array, K, V> {
  /** Starts watches through the root database's dispatcher (the root's). */
  readonly #watches: WatchStarter

  /**
   * Made by `sublevel()` of a {@link GuestLevel} or of a sublevel.
   * @internal
   */
  constructor(db: object, name: string, options: object, watches: WatchStarter) {
    super(db as never, name, options as never)
    this.#watches = watches
  }

  /**
   * Watch the changes to this sublevel's keys, prefix removed: as `db.watch()` (see
   * {@link Watch}), within this sublevel (and its own sublevels).
   */
  watch<WK = K, WV = V>(options: WatchOptions<WK> = {}): Watch<WK, WV> {
    return this.#watches.start<WK, WV>(this as unknown as WatchedDb & Resources, options)
  }

  _sublevel(name: string, options: object): AbstractSublevel<any, any, any, any> {
    return new GuestSublevel(this, name, options, this.#watches)
  }

  /** Create a sublevel of this sublevel, which can also watch its keys. */
  override sublevel(name: string | string[]): GuestSublevel<string, string>
  override sublevel<SK = string, SV = string>(
    name: string | string[],
    options: AbstractSublevelOptions<SK, SV>
  ): GuestSublevel<SK, SV>
  override sublevel(name: string | string[], options?: object): GuestSublevel<any, any> {
    return super.sublevel(name, options as never) as unknown as GuestSublevel<any, any>
  }
}
