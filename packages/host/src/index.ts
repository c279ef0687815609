export { LevelHost, type LevelHostEvents, type LevelHostOptions } from './level-host.js'
