export { RaveLevel, type RaveLevelEvents, type RaveLevelOptions, type RaveLevelStalledInfo } from './rave-level.js'
