import fs from 'node:fs'
import path from 'node:path'
import { socketPathError } from './errors.js'

/** Where {@link privateSocketDir} looks, already defaulted by the caller. */
export interface PrivateDirInput {
  /** Environment to read `XDG_RUNTIME_DIR` from. */
  env: Readonly<Record<string, string | undefined>>
  /** Temporary directory used when `XDG_RUNTIME_DIR` is unset or unsafe. */
  tmpdir: string
  /** The user the directory must belong to, or `undefined` where there are no uids. */
  uid: number | undefined
}

/**
 * Why `stats` of a would-be private directory is unsafe to put sockets in, or `undefined` when
 * it is safe. This is tmux's rule, tightened to group as well as others: a directory, owned by
 * the user, with no permission bits for group or others. Anything else could let another user
 * plant or hijack a socket that our followers then trust with their data.
 */
function unsafeReason(stats: fs.Stats, uid: number | undefined): string | undefined {
  if (!stats.isDirectory()) {
    return stats.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a directory'
  }

  if (uid !== undefined && stats.uid !== uid) {
    return `it is owned by uid ${stats.uid}, not ${uid}`
  }

  if ((stats.mode & 0o077) !== 0) {
    return `its mode ${(stats.mode & 0o777).toString(8).padStart(3, '0')} gives access to group or others`
  }

  return undefined
}

/**
 * The per-user directory that holds hashed socket paths. Does not create anything.
 *
 * `$XDG_RUNTIME_DIR/rave-level` when `XDG_RUNTIME_DIR` is set to an absolute path of a directory
 * that passes the safety rule (owned by the user, mode without group/other bits). Otherwise,
 * `<tmpdir>/rave-level-<uid>` (`<tmpdir>/rave-level` where there is no uid). An unsafe or
 * unusable `XDG_RUNTIME_DIR` is skipped silently, as the XDG spec asks of applications.
 */
export function privateSocketDir(input: PrivateDirInput): string {
  const runtime = input.env['XDG_RUNTIME_DIR']

  if (runtime !== undefined && path.isAbsolute(runtime) && !runtime.includes('\0')) {
    let stats: fs.Stats | undefined

    try {
      stats = fs.statSync(runtime)
    } catch {
      stats = undefined
    }

    if (stats !== undefined && unsafeReason(stats, input.uid) === undefined) {
      return path.join(runtime, 'rave-level')
    }
  }

  const name = input.uid === undefined ? 'rave-level' : `rave-level-${input.uid}`
  return path.join(path.resolve(input.tmpdir), name)
}

/**
 * Create `dir` with mode `0o700` if it does not exist, then check it with `lstat` so that a
 * symlink planted in a shared temporary directory is refused rather than followed.
 *
 * There is no check-then-create race to exploit: `mkdir` either creates the directory (ours,
 * `0o700`) or fails with `EEXIST`, and in both cases we judge what is at the path afterwards.
 *
 * @throws `LEVEL_SOCKET_UNAVAILABLE` (reason `'unsafe'`) when the path is not a directory, belongs to another user,
 *   or is accessible by group or others.
 * @throws `LEVEL_SOCKET_UNAVAILABLE` (reason `'unavailable'`) when it cannot be created or inspected.
 */
export function ensurePrivateDir(dir: string, uid: number | undefined): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw socketPathError(`Cannot create socket directory ${dir}`, 'unavailable', err as Error)
    }
  }

  let stats: fs.Stats

  try {
    stats = fs.lstatSync(dir)
  } catch (err) {
    throw socketPathError(`Cannot inspect socket directory ${dir}`, 'unavailable', err as Error)
  }

  const reason = unsafeReason(stats, uid)

  if (reason !== undefined) {
    throw socketPathError(`Refusing to use ${dir} as socket directory: ${reason}`, 'unsafe')
  }
}
