export { ABORTED, CONNECTION_LOST, codes, DATABASE_NOT_OPEN, FRAME_TOO_LARGE } from './errors.js'
export type { ForwardTarget, LocalIterator } from '@rave-level/protocol'
export {
  type GuestRpcStreamOptions,
  ResumableGuest,
  type ResumableGuestOptions
} from './resumable-guest.js'
