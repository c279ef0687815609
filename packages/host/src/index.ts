export { type Access, AuthGate, type AuthGateOptions, type GatedSocket, type TokenGrant } from './auth.js'
export { LevelHost, type LevelHostEvents, type LevelHostOptions, type RpcStreamOptions } from './level-host.js'
