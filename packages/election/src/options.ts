import type net from 'node:net'

/**
 * An endpoint that `path` reaches only while something stays open: for example a unix socket
 * whose own path is too long, reached through `/proc/self/fd/<fd of its directory>/<name>` on
 * Linux (what `@rave-level/socket-path`'s `openEndpoint()` returns). The election calls `close()`
 * exactly once: a follower's as soon as its connect attempt settled (connected or not), a
 * leader's after its server closed and the socket file was removed through `path`.
 */
export interface OpenEndpoint {
  /** The unix socket path or pipe name to listen on or connect to while open. */
  readonly path: string
  /** What to call the endpoint in events (`'stalled'`) and messages. Default `path`. */
  readonly name?: string
  /** Release what keeps `path` valid. A throw is ignored. */
  close(): void
}

/** A unix socket path or a Windows pipe name, or an {@link OpenEndpoint}. */
export type Endpoint = string | OpenEndpoint

/**
 * Where the endpoint is, when it is not one fixed string. Use it when followers must discover the
 * leader's endpoint (for example from a file the leader publishes), when the leader picks its
 * endpoint only once it holds the lock, or when the endpoint must be opened (an
 * {@link OpenEndpoint}).
 *
 * @typeParam E What `connect()` and `listen()` return, and `published()` receives.
 */
export interface EndpointResolver<E extends Endpoint = Endpoint> {
  /**
   * Called before each connect attempt; returns the endpoint to try. A throw or rejection counts
   * as a failed connect (the election then tries the lock); it is not reported.
   */
  connect(): E | Promise<E>
  /**
   * Called once per leadership, after the lock was taken; returns the endpoint to serve. A throw
   * or rejection is reported as an election fault (stage `listen`) and the lock is given back.
   */
  listen(): E | Promise<E>
  /**
   * Called with what `listen()` returned, after the leader listens on it and before the
   * `'leader'` event (for example to write the endpoint where followers' `connect()` reads
   * it). A throw or rejection is reported as an election fault (stage `listen`) and the lock is
   * given back.
   */
  published?(endpoint: E): void | Promise<void>
}

/** Options of {@link Election}. `R` is the resource the lock guards (for example a database). */
export interface ElectionOptions<R> {
  /**
   * A unix socket path or a Windows pipe name (`\\.\pipe\name`) that the leader serves and
   * followers connect to, or an {@link EndpointResolver}.
   */
  endpoint: string | EndpointResolver
  /**
   * Try to take the lock once. Resolve with the resource when taken, with `undefined` when
   * someone else holds the lock; reject for any other failure (reported as
   * an election fault (stage `acquire`) and retried with backoff). The signal aborts when the election closes;
   * a resource that arrives after that is released.
   */
  acquire(signal: AbortSignal): Promise<R | undefined>
  /** Give the lock back (for example, close the database). */
  release(resource: R): Promise<void>
  /** Leader: handle one follower connection. The socket is unref'd. */
  serve(socket: net.Socket, resource: R): void
  /**
   * Follower: called with the connected socket (unref'd). When it closes, the election runs
   * again. The socket is also emitted as `'follower'`.
   */
  follow?(socket: net.Socket): void
  /** Ms that the lock may stay held with no endpoint answering before `'stalled'`. Default 2000. */
  stalledAfter?: number
  /**
   * Ms without a leader (neither leading nor connected) before `'timeout'` is emitted with a
   * `LEVEL_LOCKED` error, and again every `timeout` ms while it lasts. Default 10000; `Infinity`
   * disables it.
   */
  timeout?: number
  /** Retry delays in ms: exponential from `min` (default 1) to `max` (default 100), jittered. */
  backoff?: { min?: number; max?: number }
}

/** {@link ElectionOptions} after validation, with every default filled in. */
export interface ResolvedOptions<R> {
  endpoint: string | EndpointResolver
  acquire: (signal: AbortSignal) => Promise<R | undefined>
  release: (resource: R) => Promise<void>
  serve: (socket: net.Socket, resource: R) => void
  follow: ((socket: net.Socket) => void) | undefined
  stalledAfter: number
  timeout: number
  backoffMin: number
  backoffMax: number
}

/**
 * Validate options and fill in defaults.
 *
 * @throws `TypeError` when a required option is missing or has the wrong type.
 * @throws `RangeError` when a number is out of range.
 */
export function resolveOptions<R>(options: ElectionOptions<R>): ResolvedOptions<R> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('The first argument must be an options object')
  }
  const { endpoint, acquire, release, serve, follow, backoff = {} } = options
  if (typeof endpoint === 'string') {
    if (endpoint === '') throw new TypeError('The "endpoint" option must not be empty')
  } else if (
    typeof endpoint !== 'object' ||
    endpoint === null ||
    typeof endpoint.connect !== 'function' ||
    typeof endpoint.listen !== 'function' ||
    (endpoint.published !== undefined && typeof endpoint.published !== 'function')
  ) {
    throw new TypeError('The "endpoint" option must be a string or an object with connect() and listen()')
  }
  for (const [name, value] of [
    ['acquire', acquire],
    ['release', release],
    ['serve', serve]
  ] as const) {
    if (typeof value !== 'function') throw new TypeError(`The "${name}" option must be a function`)
  }
  if (follow !== undefined && typeof follow !== 'function') {
    throw new TypeError('The "follow" option must be a function')
  }
  if (typeof backoff !== 'object' || backoff === null) {
    throw new TypeError('The "backoff" option must be an object')
  }
  const backoffMin = milliseconds('backoff.min', backoff.min, 1, false)
  const backoffMax = milliseconds('backoff.max', backoff.max, Math.max(100, backoffMin), false)
  if (backoffMax < backoffMin) throw new RangeError('The "backoff.max" option must be >= "backoff.min"')
  return {
    endpoint,
    acquire,
    release,
    serve,
    follow,
    stalledAfter: milliseconds('stalledAfter', options.stalledAfter, 2000, true),
    timeout: positive('timeout', milliseconds('timeout', options.timeout, 10000, true)),
    backoffMin,
    backoffMax
  }
}

export function milliseconds(name: string, value: unknown, fallback: number, infinite: boolean): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`The "${name}" option must be a number`)
  }
  if (value < 0 || (!infinite && !Number.isFinite(value))) {
    throw new RangeError(
      `The "${name}" option must be ${infinite ? 'a non-negative number or Infinity' : 'a finite non-negative number'}`
    )
  }
  return value
}

export function positive(name: string, value: number): number {
  if (value === 0) throw new RangeError(`The "${name}" option must be greater than 0`)
  return value
}
