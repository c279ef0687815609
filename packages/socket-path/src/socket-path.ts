import { createHash } from 'node:crypto'
import os from 'node:os'
import { PIPE_PREFIX, hasProcFd, maxSocketPathBytes } from './endpoint-rules.js'
import { socketPathError } from './errors.js'
import { ensurePrivateDir, privateSocketDir } from './private-dir.js'
import { realLocation } from './real-location.js'

/** Options of {@link socketPath} and `readEndpoint()`. Every option exists for testability. */
export interface SocketPathOptions {
  /** The platform whose rules apply. Default `process.platform`. */
  platform?: NodeJS.Platform
  /** Temporary directory for the private socket directory. Default `os.tmpdir()`. */
  tmpdir?: string
  /** Environment to read `XDG_RUNTIME_DIR` from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
  /** The user that must own the private socket directory. Default `process.getuid()`. */
  uid?: number
  /**
   * Use the hashed path in the private directory even when the in-location path is short
   * enough: for a leader that cannot listen inside the location (something that is not a
   * socket, such as a directory, sits at `<location>/rave-level.sock`). Followers find it
   * through the endpoint record. Ignored on Windows. Default `false`.
   */
  hashed?: boolean
  /**
   * Keep the socket inside the location however long its path, reaching it through
   * `/proc/self/fd/<fd of the location>/rave-level.sock` (see `openEndpoint()`). Default: whether
   * `platform` is `linux` and this process has `/proc/self/fd`. `true` where that is not so
   * gives endpoints no process can use.
   */
  procFd?: boolean
}

/** {@link SocketPathOptions} with defaults applied. */
export interface ResolvedSocketPathOptions {
  platform: string
  tmpdir: string
  env: Readonly<Record<string, string | undefined>>
  uid: number | undefined
  hashed: boolean
  procFd: boolean
}

/** The socket file name used inside the location when the path is short enough. */
export const SOCKET_FILE = 'rave-level.sock'

/** Hex characters of the sha256 kept in hashed unix socket names (128 bits). */
const POSIX_HASH_LENGTH = 32

/**
 * Throw a `TypeError` unless `location` is a non-empty string without NUL bytes.
 *
 * @param location The value the caller passed as a location.
 */
export function assertLocation(location: unknown): asserts location is string {
  if (typeof location !== 'string' || location === '') {
    throw new TypeError('The first argument "location" must be a non-empty string')
  }

  if (location.includes('\0')) {
    throw new TypeError('The first argument "location" must not contain NUL bytes')
  }
}

/**
 * Validate `options` and apply the defaults. Throws a `TypeError` for a malformed option.
 *
 * @param options The caller's options, possibly `undefined`.
 */
export function resolveOptions(options: SocketPathOptions | undefined): ResolvedSocketPathOptions {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object') throw new TypeError('The "options" argument must be an object')

  const { platform = process.platform, tmpdir, env = process.env, uid = process.getuid?.(), hashed = false } = options
  const { procFd = hasProcFd(platform) } = options

  if (typeof platform !== 'string' || platform.length === 0) {
    throw new TypeError('The "platform" option must be a non-empty string')
  }
  if (tmpdir !== undefined && (typeof tmpdir !== 'string' || tmpdir === '' || tmpdir.includes('\0'))) {
    throw new TypeError('The "tmpdir" option must be a non-empty string without NUL bytes')
  }
  if (typeof env !== 'object' || env === null) {
    throw new TypeError('The "env" option must be an object')
  }
  if (uid !== undefined && (!Number.isSafeInteger(uid) || uid < 0)) {
    throw new TypeError('The "uid" option must be a non-negative integer')
  }

  if (typeof hashed !== 'boolean') throw new TypeError('The "hashed" option must be a boolean')
  if (typeof procFd !== 'boolean') throw new TypeError('The "procFd" option must be a boolean')

  return { platform, tmpdir: tmpdir ?? os.tmpdir(), env, uid, hashed, procFd }
}

/** `<real>/rave-level.sock`: the socket inside the location, whatever its length. */
export function insideSocket(real: string): string {
  return real.endsWith('/') ? real + SOCKET_FILE : `${real}/${SOCKET_FILE}`
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/**
 * The endpoint computed from a real location (see `realLocation()`) and resolved options.
 * Shared by {@link socketPath} and `readEndpoint()`; throws what {@link socketPath} throws.
 */
export function endpointFor(real: string, options: ResolvedSocketPathOptions): string {
  if (options.platform === 'win32') {
    // Hash rather than embed: a pipe name must not contain a backslash after the prefix and
    // Windows paths are case-insensitive, so fold case before hashing.
    // 20 + 64 characters: far below the 256-character limit, whatever the location's length.
    return `${PIPE_PREFIX}rave-level-${sha256(real.toLowerCase())}`
  }

  const limit = maxSocketPathBytes(options.platform)
  const inside = insideSocket(real)

  // Inside the location whenever every process that can open the location can reach it there:
  // then no path, mount or mount namespace it is seen through can send two processes to
  // different endpoints. A hashed path in a private directory is a last resort, for where a
  // long path cannot be reached at all (or something else sits at the in-location path).
  if (!options.hashed && (options.procFd || Buffer.byteLength(inside, 'utf8') <= limit)) {
    return inside
  }

  const dir = privateSocketDir(options)
  const hashed = `${dir}/${sha256(real).slice(0, POSIX_HASH_LENGTH)}.sock`

  // Checked before creating the directory, so that a refusal has no side effect.
  if (Buffer.byteLength(hashed, 'utf8') > limit) {
    throw socketPathError(
      `Socket path ${hashed} exceeds the ${limit}-byte limit of ${options.platform}; set a shorter TMPDIR or XDG_RUNTIME_DIR`,
      'too-long'
    )
  }

  ensurePrivateDir(dir, options.uid)
  return hashed
}

/**
 * The name of the IPC endpoint that the leader of a database location listens on: a unix socket
 * path, or a named pipe on Windows. Every process that computes it for the same location gets the
 * same answer, however the location is spelled (relative, absolute, through a symlink, in another
 * case on Windows), and two different locations never share an endpoint, however long they are.
 * Nothing is opened; to listen or connect, use `openEndpoint()` or `readEndpoint()`, which make
 * any name usable.
 *
 * - Linux (with `/proc`): `<real location>/rave-level.sock`, whatever its length. When it exceeds
 *   the 107-byte limit, `openEndpoint()` reaches it through a file descriptor of the location.
 * - Other POSIX systems: `<real location>/rave-level.sock` when that fits the platform's limit in
 *   UTF-8 bytes (107; 103 on darwin, freebsd, openbsd and netbsd). Otherwise `<dir>/<hash>.sock`
 *   where `<hash>` is the first 32 hex characters of the sha256 of the real location and `<dir>`
 *   is a private per-user directory: `$XDG_RUNTIME_DIR/rave-level` when `XDG_RUNTIME_DIR` is set
 *   and safe, else `<tmpdir>/rave-level-<uid>`. It is created with mode `0o700` if missing.
 *   Processes with another `/tmp` (another container, another mount namespace) cannot reach it.
 * - Windows: `\\.\pipe\rave-level-<sha256 of the lower-cased real location>`, no backslash
 *   after the prefix, at most 256 characters.
 *
 * The real location is `fs.realpathSync.native` of its nearest existing ancestor plus the
 * segments that do not exist yet, so the location need not exist.
 *
 * A hashed path depends on the caller's `TMPDIR` and `XDG_RUNTIME_DIR`. Followers should
 * therefore use `readEndpoint()`, which prefers what the leader published.
 *
 * @param location Path of the database directory.
 * @param options See {@link SocketPathOptions}.
 * @returns The endpoint's name: what `openEndpoint()` returns as `name`.
 * @throws `TypeError` when `location` is not a non-empty string, or an option is malformed.
 * @throws `LEVEL_SOCKET_UNAVAILABLE` (reason `'unsafe'`) when the private directory is not a directory, is not owned
 *   by the user, or is accessible by group or others.
 * @throws `LEVEL_SOCKET_UNAVAILABLE` (reason `'unavailable'`) when the private directory cannot be created.
 * @throws `LEVEL_SOCKET_UNAVAILABLE` (reason `'too-long'`) when even the hashed path would exceed the limit.
 */
export function socketPath(location: string, options?: SocketPathOptions): string {
  assertLocation(location)
  const resolved = resolveOptions(options)
  return endpointFor(realLocation(location), resolved)
}
