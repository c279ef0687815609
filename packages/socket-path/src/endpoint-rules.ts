import fs from 'node:fs'

/** The prefix of every Windows named pipe this package produces. */
export const PIPE_PREFIX = '\\\\.\\pipe\\'

/** Windows rejects pipe names longer than this many characters (prefix included). */
export const MAX_PIPE_NAME_LENGTH = 256

/**
 * Platforms whose `sockaddr_un.sun_path` holds 104 bytes (103 plus the terminating NUL).
 * Everything else that is not `win32` is assumed to have Linux's 108 (107 usable).
 */
const SHORT_SUN_PATH = new Set<string>(['darwin', 'freebsd', 'openbsd', 'netbsd'])

/**
 * The longest unix socket path, in UTF-8 bytes, that `platform` accepts without truncation.
 * Node does not reject longer paths: it silently truncates them, which is why this package
 * never hands one out.
 *
 * @param platform A `process.platform` value other than `win32`.
 * @returns 103 on darwin, freebsd, openbsd and netbsd; 107 elsewhere.
 */
export function maxSocketPathBytes(platform: string): number {
  return SHORT_SUN_PATH.has(platform) ? 103 : 107
}

/**
 * Whether `endpoint` is an endpoint that a process on `platform` can safely listen on or
 * connect to: a named pipe `\\.\pipe\<name>` (or `\\?\pipe\<name>`) of at most 256 characters
 * with no backslash in `<name>` on `win32`; elsewhere an absolute unix socket path that fits
 * {@link maxSocketPathBytes} and does not go through a file descriptor (`/proc/self/...`,
 * `/dev/fd/...`). No NUL, CR or LF anywhere. Never throws.
 *
 * @param endpoint The candidate, of any type (it may come from a file written by someone else).
 * @param platform A `process.platform` value.
 */
export function isValidEndpoint(endpoint: unknown, platform: string): endpoint is string {
  if (typeof endpoint !== 'string' || endpoint === '' || /[\0\r\n]/.test(endpoint)) {
    return false
  }

  if (platform === 'win32') {
    return endpoint.length <= MAX_PIPE_NAME_LENGTH && /^\\\\[.?]\\pipe\\[^\\]+$/i.test(endpoint)
  }

  return (
    endpoint.startsWith('/') &&
    !PROCESS_RELATIVE.test(endpoint) &&
    Buffer.byteLength(endpoint, 'utf8') <= maxSocketPathBytes(platform)
  )
}

/**
 * Paths that name a file descriptor of the process that resolves them (`/proc/self/fd/<fd>/...`
 * and the like): they mean something else in every other process, so they are never an
 * endpoint to record or to read from a record.
 */
const PROCESS_RELATIVE = /^\/(?:proc\/(?:self|thread-self)|dev\/fd)\//

let procFd: boolean | undefined

/**
 * Whether this process can reach a unix socket through `/proc/self/fd/<fd of its folder>/<name>`,
 * however long the socket's own path: on Linux, when `/proc` is mounted (it is in containers
 * too). Linux resolves such a path through the open folder itself, so binding, connecting and
 * unlinking through it act on the socket file inside the folder. No other platform this package
 * knows has an equivalent: macOS and the BSDs have no `/proc/self/fd` (their `/dev/fd` cannot be
 * walked into), and a path relative to the folder would need `chdir`, which is process-wide.
 * Checked once per process.
 *
 * @param platform A `process.platform` value.
 */
export function hasProcFd(platform: string): boolean {
  if (platform !== 'linux') return false
  if (procFd === undefined) {
    try {
      procFd = fs.statSync('/proc/self/fd').isDirectory()
    } catch {
      procFd = false
    }
  }
  return procFd
}
