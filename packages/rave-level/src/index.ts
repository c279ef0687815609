export { RaveLevel, type RaveLevelEvents, type RaveLevelOptions, type RaveLevelStalledInfo } from './rave-level.js'
export type { Watch, WatchChange, WatchOptions } from '@rave-level/guest'
