export { Backoff, backoffDelay } from './backoff.js'
export { Election, type ElectionEvents, type ElectionRole } from './election.js'
export { ELECTION_FAULT, type ElectionFault, type ElectionStage, LEASE_LOST } from './errors.js'
export {
  type LeaderInfo,
  type Leadership,
  LeaseElection,
  type LeaseElectionEvents,
  type LeaseElectionRole
} from './lease-election.js'
export type { LeaseElectionOptions } from './lease-options.js'
export type { StalledInfo } from './leaderless-watch.js'
export type { ElectionOptions, Endpoint, EndpointResolver, OpenEndpoint } from './options.js'
