export { ABORTED, CONNECTION_LOST, codes, DATABASE_NOT_OPEN, FRAME_TOO_LARGE, TIMEOUT } from './errors.js'
export { GuestLevel, type GuestLevelOptions } from './guest-level.js'
export {
  type GuestRpcStreamOptions,
  ResumableGuest,
  type ResumableGuestEvents,
  type ResumableGuestOptions
} from './resumable-guest.js'
export type { CacheOptions } from './read-cache.js'
export { GuestSublevel } from './sublevel.js'
export type { Watch, WatchChange, WatchOptions } from './watch.js'
export type { UnresponsiveInfo } from './watchdog.js'
