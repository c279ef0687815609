export type {
  RaveLevelEvents,
  RaveLevelFault,
  RaveLevelOptions,
  RaveLevelReopenFailure,
  RaveLevelStalledInfo
} from './events.js'
export { RaveLevel } from './rave-level.js'
export type { Watch, WatchChange, WatchOptions } from '@rave-level/guest'
export type { Access, TokenGrant } from '@rave-level/host'
export type { ListenOptions } from './listen-options.js'
export type { RemoteLevel, RemoteLevelOptions, RemoteUrlSource } from './remote.js'
