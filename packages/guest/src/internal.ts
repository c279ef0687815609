/**
 * @packageDocumentation
 * `@rave-level/guest/internal`: what a facade needs to decide itself where the operations of a
 * {@link GuestLevel} go, as `rave-level` does (it attaches the leader's socket, or forwards to
 * the database it leads, and keeps the dispatcher to itself). Not for users: it follows
 * `rave-level`'s needs, without a semver promise of its own.
 */

import type { Dispatcher } from './dispatcher.js'
import { GuestLevel, type GuestLevelOptions } from './guest-level.js'

export { Dispatcher, type DispatcherEvents, type DispatcherOptions } from './dispatcher.js'
export type { ReadCache } from './read-cache.js'

/**
 * {@link GuestLevel}'s constructor as a facade calls it: with the {@link Dispatcher} it keeps,
 * abstract-level's options, and the manifest entries (events, methods) of the subclass. Extend
 * it: `class Facade<K, V> extends FacadeLevel<K, V>`. The instance is a plain `GuestLevel`
 * that exposes nothing of the dispatcher.
 */
export const FacadeLevel: new <K = string, V = string>(
  options: GuestLevelOptions<K, V> | undefined,
  dispatcher: Dispatcher,
  manifest?: object
) => GuestLevel<K, V> = GuestLevel
