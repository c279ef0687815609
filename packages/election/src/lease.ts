/**
 * @packageDocumentation
 * `@rave-level/election/lease`: the election whose lock is an etcd lease ({@link LeaseElection}),
 * for candidates on different machines. A subpath of its own so that the kernel-lock election
 * (the main entry, which `rave-level` uses in every process) never loads the etcd client.
 */
export { LEASE_LOST } from './errors.js'
export {
  type LeaderInfo,
  type Leadership,
  LeaseElection,
  type LeaseElectionEvents,
  type LeaseElectionRole
} from './lease-election.js'
export type { LeaseElectionOptions } from './lease-options.js'
