export { codes, INVALID_VALUE, NOT_FOUND, READONLY, TOO_MANY_ITERATORS } from './errors.js'
export { LevelHost, type LevelHostEvents, type LevelHostOptions } from './level-host.js'
