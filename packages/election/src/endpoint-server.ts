import net from 'node:net'
import { closeEndpoint, endpointName, endpointPath, isPipeName, removeStaleEndpoint } from './endpoint.js'
import type { Endpoint, EndpointResolver } from './options.js'

/**
 * The leader's listening side: one `net.Server` on the endpoint plus every connection it accepted,
 * so that stopping the leader can cut them all at once.
 *
 * Neither the server nor the accepted sockets keep the event loop alive (`unref`): whether a
 * process that leads but has nothing else to do may exit is the user's decision, not ours.
 */
export class EndpointServer {
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()
  #boundPath: string | undefined
  /** The endpoint handed to {@link EndpointServer.listen}, released once the server closed. */
  #endpoint: Endpoint | undefined
  #closing: Promise<void> | undefined

  /**
   * @param onConnection Called with each accepted socket (already unref'd, with an `'error'`
   * listener attached so that a reset connection cannot crash the process).
   * @param onError Called for server errors after listening succeeded (such as failed accepts).
   */
  constructor(onConnection: (socket: net.Socket) => void, onError: (err: Error) => void) {
    this.#server = net.createServer((socket) => {
      if (this.#closing !== undefined) {
        socket.destroy()
        return
      }
      socket.unref()
      socket.on('error', ignore)
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
      onConnection(socket)
    })
    this.#server.unref()
    this.#server.on('error', (err) => {
      if (this.#server.listening) onError(err)
    })
  }

  /**
   * Remove what a dead leader left at `endpoint` and listen on it. The caller must hold the
   * lock. The server owns `endpoint` from now on, whatever happens: {@link EndpointServer.close}
   * releases it (an open endpoint's `close()`) after the socket file was removed through it.
   *
   * @param endpoint A unix socket path, a pipe name or an open endpoint.
   * @throws What `removeStaleEndpoint()` throws (such as `EISDIR`), or the server's `'error'`
   *   (such as `EADDRINUSE`, `ENOENT`, `EACCES`).
   */
  async listen(endpoint: Endpoint): Promise<void> {
    if (this.#closing !== undefined) {
      closeEndpoint(endpoint)
      throw new Error('The server is closed')
    }
    this.#endpoint = endpoint
    const path = endpointPath(endpoint)
    removeStaleEndpoint(path)
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.#server.once('error', onError)
      this.#server.listen(path, () => {
        this.#server.removeListener('error', onError)
        if (!isPipeName(path)) this.#boundPath = path
        resolve()
      })
    })
  }

  /**
   * Stop serving: end every accepted connection (what was written to it is still delivered;
   * a peer that does not take it within a grace period is cut off), close the server and
   * remove the socket file this server created. Idempotent. Never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    for (const socket of this.#sockets) {
      socket.end()
      const cut = setTimeout(() => socket.destroy(), GRACE).unref()
      socket.once('close', () => clearTimeout(cut))
    }
    this.#sockets.clear()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    // libuv already unlinks a unix socket path when its server closes; unlinking again (and
    // ignoring ENOENT) covers platforms and versions that do not. We still hold the lock here, so
    // nothing at this path can belong to another leader.
    const path = this.#boundPath
    this.#boundPath = undefined
    if (path !== undefined) {
      try {
        removeStaleEndpoint(path)
      } catch {
        // Nothing to do: the next leader removes whatever is left before it listens.
      }
    }
    // Only now: the path may go through what the endpoint holds open (a descriptor of the
    // socket's directory), and both the close above and the unlink resolve it.
    const endpoint = this.#endpoint
    this.#endpoint = undefined
    if (endpoint !== undefined) closeEndpoint(endpoint)
  }
}

/** A failure to serve, and the endpoint it happened at (when known). */
export class EndpointFailure extends Error {
  constructor(
    readonly endpoint: string | undefined,
    readonly reason: unknown
  ) {
    super('Failed to serve the endpoint')
  }
}

/**
 * For a lock holder: resolve the endpoint, remove what a dead leader left there, listen on it
 * with `server` (which then owns it), and publish it. Resolves with the endpoint, or
 * `undefined` as soon as `current()` says the caller moved on. Throws an {@link EndpointFailure}.
 */
export async function serveEndpoint(
  option: string | EndpointResolver,
  server: EndpointServer,
  current: () => boolean
): Promise<Endpoint | undefined> {
  let endpoint: Endpoint | undefined
  try {
    endpoint = typeof option === 'string' ? option : await option.listen()
    if (!current()) {
      closeEndpoint(endpoint)
      return undefined
    }
    await server.listen(endpoint)
    if (!current()) return undefined
    if (typeof option !== 'string' && option.published !== undefined) {
      await option.published(endpoint)
      if (!current()) return undefined
    }
    return endpoint
  } catch (err) {
    throw new EndpointFailure(endpoint === undefined ? undefined : endpointName(endpoint), err)
  }
}

function ignore(): void {}

/** Ms a peer gets to take what was written to it before its connection is cut. */
const GRACE = 200
