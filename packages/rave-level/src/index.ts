export { RaveLevel, type RaveLevelOptions } from './rave-level.js'
