import { AbstractSublevel, type AbstractSublevelOptions } from 'abstract-level'
import type { GuestLevel } from './guest-level.js'
import type { Watch, WatchOptions } from './watch.js'
import type { WatchedDb } from './watch-shape.js'
import { type Resources, startWatch } from './watch-start.js'

/**
 * A sublevel of a {@link GuestLevel} (or of one of its sublevels): abstract-level's, plus
 * {@link GuestSublevel.watch}.
 */
export class GuestSublevel<K = string, V = string> extends AbstractSublevel<any, string | Buffer | Uint8Array, K, V> {
  /**
   * Watch the changes to this sublevel's keys, prefix removed: as `db.watch()` (see
   * {@link Watch}), within this sublevel (and its own sublevels).
   */
  watch<WK = K, WV = V>(options: WatchOptions<WK> = {}): Watch<WK, WV> {
    return startWatch<WK, WV>(this as unknown as WatchedDb & Resources, this.db as GuestLevel<any, any>, options)
  }

  _sublevel(name: string, options: object): AbstractSublevel<any, any, any, any> {
    return new GuestSublevel(this, name, options)
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
