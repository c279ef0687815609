import { unlinkSync } from 'node:fs'
import type { Endpoint } from './options.js'

const PIPE_PREFIX = /^\\\\[.?]\\pipe\\/i

/**
 * Whether `endpoint` is a Windows named pipe (`\\.\pipe\name` or `\\?\pipe\name`) rather than a
 * unix socket path. Pipes live in the kernel's pipe namespace: they vanish with their server, so
 * there is never a stale one to remove.
 *
 * @param endpoint A unix socket path or a pipe name.
 */
export function isPipeName(endpoint: string): boolean {
  return PIPE_PREFIX.test(endpoint)
}

/**
 * Remove whatever is left at a unix socket path (a dead leader's socket, or any other file) so
 * that the caller can listen there. Does nothing for pipe names or when nothing is there.
 *
 * Only the lock holder may call this: a process that merely failed to connect has no proof the
 * leader is dead (the leader may be between `unlink` and `listen`, or its backlog may be full).
 *
 * Synchronous on purpose: this is on the failover path, and one `unlink` takes microseconds,
 * while a round trip through libuv's thread pool takes a lot longer, and in a process that never
 * used the pool before (a follower typically) it first has to start its threads: measured, that
 * was about a millisecond of every failover.
 *
 * @param endpoint A unix socket path or a pipe name.
 * @throws The `unlink` error, other than `ENOENT` (for example `EISDIR` when a directory is there).
 */
export function removeStaleEndpoint(endpoint: string): void {
  if (isPipeName(endpoint)) return
  try {
    unlinkSync(endpoint)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/** What to listen on or connect to for `endpoint`. */
export function endpointPath(endpoint: Endpoint): string {
  return typeof endpoint === 'string' ? endpoint : endpoint.path
}

/** What to call `endpoint` in events and messages. */
export function endpointName(endpoint: Endpoint): string {
  return typeof endpoint === 'string' ? endpoint : (endpoint.name ?? endpoint.path)
}

/** Release what keeps an open endpoint's path valid; nothing for a string. Never throws. */
export function closeEndpoint(endpoint: Endpoint): void {
  if (typeof endpoint === 'string') return
  try {
    endpoint.close()
  } catch {
    // The user's close() failed: there is nothing more the election can release.
  }
}
