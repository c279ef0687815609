import fs from 'node:fs'
import path from 'node:path'
import { maxSocketPathBytes } from './endpoint-rules.js'
import { realLocation } from './real-location.js'
import {
  type ResolvedSocketPathOptions,
  type SocketPathOptions,
  assertLocation,
  endpointFor,
  resolveOptions
} from './socket-path.js'

/**
 * An endpoint of a location, ready for this process to listen on or connect to until it is
 * closed. Returned by {@link openEndpoint} and `readEndpoint()`.
 */
export interface Endpoint {
  /**
   * The endpoint as `socketPath()` names it, the same in every process that sees the location
   * at the same path: what a leader records with `publishEndpoint()`, and what to show a user.
   * It may be longer than a socket path can be (see `path`).
   */
  readonly name: string
  /**
   * What to pass to `server.listen()` or `net.connect()`, valid in this process until
   * {@link Endpoint.close}: `name` itself, or, when `name` is too long for a socket path,
   * `/proc/self/fd/<fd>/rave-level.sock`, where `<fd>` is a file descriptor of the location that
   * this endpoint holds open. Binding, connecting and unlinking through it act on the socket file
   * inside the location.
   */
  readonly path: string
  /**
   * Close the file descriptor that `path` goes through, if any; afterwards `path` may name
   * something else. A leader closes it after its server closed and its socket file was
   * removed, a follower once its connect attempt settled (the socket stays connected).
   * Idempotent; never throws.
   */
  close(): void
}

/** An endpoint reachable through its own name: nothing to hold open. */
class NamedEndpoint implements Endpoint {
  readonly path: string

  constructor(readonly name: string) {
    this.path = name
  }

  close(): void {}
}

/** An in-location socket whose path is too long, reached through a descriptor of the location. */
class FolderEndpoint implements Endpoint {
  readonly path: string
  #fd: number | undefined

  constructor(
    readonly name: string,
    fd: number
  ) {
    this.#fd = fd
    this.path = `/proc/self/fd/${fd}/${path.basename(name)}`
  }

  close(): void {
    const fd = this.#fd
    this.#fd = undefined
    if (fd === undefined) return
    try {
      fs.closeSync(fd)
    } catch {
      // EBADF only if someone else closed our descriptor; there is nothing left to release.
    }
  }
}

/**
 * The {@link Endpoint} for `name`, an endpoint name that `endpointFor()` returned (or a valid
 * recorded one). Only an in-location socket on a system with `/proc/self/fd` can be too long for
 * its own name; its folder is opened here.
 *
 * @throws File system errors of opening the location (such as `ENOENT` when it does not exist).
 */
export function openName(name: string, options: ResolvedSocketPathOptions): Endpoint {
  if (options.platform === 'win32' || Buffer.byteLength(name, 'utf8') <= maxSocketPathBytes(options.platform)) {
    return new NamedEndpoint(name)
  }
  // O_DIRECTORY: a file that replaced the location must not be taken for it. Node opens every
  // descriptor close-on-exec, so child processes do not inherit it.
  const fd = fs.openSync(path.dirname(name), fs.constants.O_RDONLY | (fs.constants.O_DIRECTORY ?? 0))
  return new FolderEndpoint(name, fd)
}

/**
 * Open the endpoint that the leader of `location` listens on (the one `socketPath()` names), for
 * this process to listen on or connect to: its `path` fits a socket path whatever the location's
 * length. Call {@link Endpoint.close} when done with it.
 *
 * On Linux the socket is always inside the location, so every process that can open the
 * location reaches it, through whatever path, bind mount or mount namespace (another container
 * sharing the volume, another `/tmp`) it sees the location. When `<location>/rave-level.sock`
 * is longer than 107 bytes, this opens the location (read-only, a directory) and `path` goes
 * through that descriptor. Elsewhere a long location's socket is in a private directory (see
 * `socketPath()`), which only processes sharing that directory can reach.
 *
 * @param location Path of the database directory. It must exist when its socket path is too
 *   long (a leader's does; a follower that cannot open it has no leader to reach).
 * @param options See {@link SocketPathOptions}.
 * @throws What `socketPath()` throws.
 * @throws File system errors of opening the location, as they are (such as `ENOENT`).
 */
export function openEndpoint(location: string, options?: SocketPathOptions): Endpoint {
  assertLocation(location)
  const resolved = resolveOptions(options)
  return openName(endpointFor(realLocation(location), resolved), resolved)
}
