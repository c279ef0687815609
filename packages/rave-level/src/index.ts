export type { RaveLevelEvents, RaveLevelFault, RaveLevelOptions, RaveLevelStalledInfo } from './events.js'
export { RaveLevel } from './rave-level.js'
export type { Watch, WatchChange, WatchOptions } from '@rave-level/guest'
