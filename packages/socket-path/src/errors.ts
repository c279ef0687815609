import ModuleError from 'module-error'

/**
 * The one code this package puts on a `ModuleError`: `LEVEL_SOCKET_UNAVAILABLE`, no endpoint can
 * be made for the location. Callers branch on it, never on messages; `reason` says which rule
 * refused:
 *
 * - `'unsafe'`: the private socket directory exists but is not a directory (a file or a
 *   symlink), is not owned by the user, or is accessible by group or others;
 * - `'unavailable'`: the private socket directory could not be created or inspected (for
 *   example because the temporary directory does not exist or is read-only);
 * - `'too-long'`: even the short endpoint in the private directory would exceed the platform's
 *   unix socket path limit (the temporary directory's path is too long).
 */
export const SOCKET_UNAVAILABLE = 'LEVEL_SOCKET_UNAVAILABLE'

/** Why no endpoint could be made (see {@link SOCKET_UNAVAILABLE}). */
export type SocketUnavailableReason = 'unsafe' | 'unavailable' | 'too-long'

/** The error this package throws: `code` is `LEVEL_SOCKET_UNAVAILABLE`. */
export interface SocketPathError extends ModuleError {
  readonly reason: SocketUnavailableReason
}

/**
 * Create a {@link SocketPathError}.
 *
 * @param message Human-readable explanation; callers must not parse it.
 * @param reason Which rule refused.
 * @param cause The underlying error, when wrapping one.
 */
export function socketPathError(message: string, reason: SocketUnavailableReason, cause?: Error): SocketPathError {
  const err = new ModuleError(
    message,
    cause === undefined ? { code: SOCKET_UNAVAILABLE } : { code: SOCKET_UNAVAILABLE, cause }
  )
  return Object.assign(err, { reason })
}
