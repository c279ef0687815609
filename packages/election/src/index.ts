export { Election, type ElectionEvents, type ElectionRole } from './election.js'
export { ELECTION_FAULT, type ElectionFault, type ElectionStage } from './errors.js'
export type { StalledInfo } from './leaderless-watch.js'
export type { ElectionOptions, Endpoint, EndpointResolver, OpenEndpoint } from './options.js'
