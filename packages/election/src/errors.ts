import ModuleError from 'module-error'

/**
 * Every `code` this package puts on a `ModuleError`. Callers branch on these, never on messages.
 *
 * - `LEVEL_LOCKED`: carried by the `'timeout'` event. No leader has been reachable for `timeout`
 *   ms: typically the lock is held by something that serves no endpoint.
 * - `LEVEL_ACQUIRE_FAILED`: `acquire()` rejected (for a reason other than "someone else holds the
 *   lock"). The original error is the `cause`; the election backs off and tries again.
 * - `LEVEL_LISTEN_FAILED`: this instance took the lock but could not serve the endpoint:
 *   `resolver.listen()` rejected, a stale endpoint could not be removed, the server failed to
 *   listen, or `resolver.published()` rejected. The lock has been given back (`release()`); the
 *   election backs off and tries again.
 * - `LEVEL_RELEASE_FAILED`: `release()` rejected. The original error is the `cause`.
 * - `LEVEL_SERVE_FAILED`: the leader could not serve one connection (`serve()` threw, or the
 *   server failed to accept). That connection is destroyed; the leader carries on.
 * - `LEVEL_FOLLOW_FAILED`: `follow()` threw. The connection is destroyed and the election runs
 *   again.
 */
export type ElectionErrorCode =
  | 'LEVEL_LOCKED'
  | 'LEVEL_ACQUIRE_FAILED'
  | 'LEVEL_LISTEN_FAILED'
  | 'LEVEL_RELEASE_FAILED'
  | 'LEVEL_SERVE_FAILED'
  | 'LEVEL_FOLLOW_FAILED'

/**
 * Create a `ModuleError` with one of this package's codes.
 *
 * @param message Human-readable explanation; callers must not parse it.
 * @param code One of {@link ElectionErrorCode}.
 * @param cause The underlying failure, when wrapping one. Non-errors are wrapped in an `Error`.
 */
export function electionError (message: string, code: ElectionErrorCode, cause?: unknown): ModuleError {
  if (cause === undefined) return new ModuleError(message, { code })
  return new ModuleError(message, { code, cause: toError(cause) })
}

function toError (value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}
