/**
 * @packageDocumentation
 * `@rave-level/election/lease`: the election whose lock is an etcd lease ({@link LeaseElection}),
 * for candidates on different machines, and {@link LeaderObserver}, which finds its leader
 * without campaigning. A subpath of its own so that the kernel-lock election
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
export {
  LeaderObserver,
  type LeaderObserverEvents,
  type LeaderObserverOptions,
  type ObserverStalledInfo
} from './lease-observer.js'
export type { LeaseElectionOptions } from './lease-options.js'
