import { Etcd3, type IOptions } from 'etcd3'
import { ExponentialBackoff, noop } from 'cockatiel'
import { milliseconds, positive } from './options.js'

/** Options of {@link LeaseElection}. */
export interface LeaseElectionOptions {
  /**
   * The etcd cluster: an `Etcd3` client of the `etcd3` package (the election uses it and leaves
   * it open on close), or the options to create one (`{ hosts: 'http://10.0.0.1:2379' }`, with
   * TLS and auth as `etcd3` takes them; the election closes the client it created). A client
   * created here retries nothing by itself (the election's own loop retries, bounded by the
   * lease's deadline) and reconnects watches after 100 ms to 1 s.
   */
  etcd: Etcd3 | IOptions
  /**
   * The election's name. Candidates' keys live under `election/<name>/`, the prefix the
   * `etcd3` package's `client.election(name)` uses, so its `observe()` sees the same leader.
   */
  name: string
  /**
   * What this candidate publishes when it leads, and what followers receive: typically the
   * endpoint it serves, such as `tls://10.0.0.5:7000` or `tcp://host:port`. Any non-empty string.
   */
  value: string
  /**
   * The lease's time to live in seconds (an integer, at least 1; etcd raises values below its
   * minimum, about 2 s with default settings). A dead leader is replaced after about this long;
   * a leader that cannot renew its lease stops before this long has passed since its last
   * successful renewal was sent. Default 10.
   */
  ttl?: number
  /**
   * Ms before the end of the TTL at which a leader that could not renew its lease stops, to
   * absorb timer lateness and clock-rate differences between this machine and etcd. Default a
   * tenth of the TTL, at least 200 ms, at most a quarter of the TTL.
   */
  margin?: number
  /** Ms without a leader before `'stalled'` (once per episode). Default 2000. */
  stalledAfter?: number
  /** Ms without a leader before `'timeout'` (`LEVEL_LOCKED`), and again every `timeout` ms. Default 30000. */
  timeout?: number
  /** Retry delays in ms after a failed request to etcd: exponential from `min` (default 100) to `max` (default 1000), jittered. */
  backoff?: { min?: number; max?: number }
}

/** {@link LeaseElectionOptions} after validation, with every default filled in. @internal */
export interface ResolvedLeaseOptions {
  client: Etcd3
  ownsClient: boolean
  prefix: string
  value: string
  ttl: number
  margin: number
  stalledAfter: number
  timeout: number
  backoffMin: number
  backoffMax: number
}

/**
 * Validate options, fill in defaults, and create the etcd client when given its options.
 *
 * @throws `TypeError` when an option is missing or has the wrong type.
 * @throws `RangeError` when a number is out of range.
 */
export function resolveLeaseOptions(options: LeaseElectionOptions): ResolvedLeaseOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('The first argument must be an options object')
  }
  const { etcd, name, value, backoff = {} } = options
  for (const [key, text] of [
    ['name', name],
    ['value', value]
  ] as const) {
    if (typeof text !== 'string' || text === '') throw new TypeError(`The "${key}" option must be a non-empty string`)
  }
  if (typeof etcd !== 'object' || etcd === null) {
    throw new TypeError('The "etcd" option must be an Etcd3 client or its options')
  }
  const ttl = options.ttl ?? 10
  if (typeof ttl !== 'number' || !Number.isInteger(ttl)) throw new TypeError('The "ttl" option must be an integer')
  if (ttl < 1) throw new RangeError('The "ttl" option must be at least 1 (second)')
  const ttlMs = ttl * 1000
  const margin = milliseconds('margin', options.margin, Math.min(ttlMs / 4, Math.max(200, ttlMs / 10)), false)
  if (margin >= ttlMs / 2) throw new RangeError('The "margin" option must be less than half the TTL')
  if (typeof backoff !== 'object' || backoff === null) {
    throw new TypeError('The "backoff" option must be an object')
  }
  const backoffMin = milliseconds('backoff.min', backoff.min, 100, false)
  const backoffMax = milliseconds('backoff.max', backoff.max, Math.max(1000, backoffMin), false)
  if (backoffMax < backoffMin) throw new RangeError('The "backoff.max" option must be >= "backoff.min"')
  const ownsClient = !(etcd instanceof Etcd3)
  return {
    client: etcd instanceof Etcd3 ? etcd : createClient(etcd),
    ownsClient,
    prefix: `election/${name}/`,
    value,
    ttl,
    margin,
    stalledAfter: milliseconds('stalledAfter', options.stalledAfter, 2000, true),
    timeout: positive('timeout', milliseconds('timeout', options.timeout, 30000, true)),
    backoffMin,
    backoffMax
  }
}

/**
 * The etcd3 client's default policies retry each call three times and open a circuit breaker
 * for 5 s after three failures: behind a lease that must be renewed within seconds, that is
 * time the leader does not have, and after etcd comes back it keeps everyone waiting for the
 * breaker. The election's own loop retries, with backoff, as long as the deadline allows (and
 * the observer's, with backoff, for as long as it runs).
 * @internal
 */
export function createClient(options: IOptions): Etcd3 {
  return new Etcd3({
    ...options,
    faultHandling: {
      host: () => noop,
      global: noop,
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }).next(),
      ...options.faultHandling
    }
  })
}
