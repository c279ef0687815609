import net from 'node:net'
import tls from 'node:tls'
import { Backoff, type ElectionFault } from '@rave-level/election'
import type { Access, GatedSocket } from '@rave-level/host'
import { listenFault } from './errors.js'
import type { ListenConfig } from './listen-options.js'

/** Ms a peer gets to take what was written to it before its connection is cut. */
const GRACE = 200
/** Retries of a failed bind (a port still held by someone else): from 100 ms up to 5 s. */
const RETRY_MIN = 100
const RETRY_MAX = 5000

/**
 * The leader's TCP (or TLS) listener: up exactly while `start()`ed, which `RaveLevel` does while
 * it leads. Every accepted connection goes through the {@link AuthGate} first; only an
 * authenticated one reaches `serve`, with its access.
 *
 * A bind that fails (the port is still held, say by a previous leader that has not quite died)
 * is reported and retried with backoff until it succeeds or `stop()` is called. Neither the
 * server nor its sockets hold the event loop, as with the unix socket.
 */
export class TcpListener {
  readonly #config: ListenConfig
  readonly #serve: (socket: net.Socket, access: Access) => void
  readonly #report: (err: ElectionFault) => void
  readonly #sockets = new Set<net.Socket>()
  readonly #backoff = new Backoff(RETRY_MIN, RETRY_MAX)
  #server: net.Server | undefined
  #retry: NodeJS.Timeout | undefined
  #stopping: Promise<void> | undefined

  constructor(
    config: ListenConfig,
    serve: (socket: net.Socket, access: Access) => void,
    report: (err: ElectionFault) => void
  ) {
    this.#config = config
    this.#serve = serve
    this.#report = report
  }

  /** The bound address while listening (`undefined` otherwise). */
  get address(): net.AddressInfo | undefined {
    const address = this.#server?.listening === true ? this.#server.address() : null
    return address !== null && typeof address === 'object' ? address : undefined
  }

  /** Connections authenticating now (in their TLS handshake, or sending credentials). */
  get unauthenticated(): number {
    return this.#handshaking.size + this.#config.gate.pending
  }

  /**
   * Accepted TLS connections whose handshake has not finished, by peer address. Node's TLS
   * server hands a connection over only once its handshake is done, as another object; the
   * peer's address and port name the same TCP connection in both.
   */
  readonly #handshaking = new Map<string, net.Socket>()

  /** Listen (again), unless listening already. */
  start(): void {
    if (this.#server !== undefined && this.#stopping === undefined) return
    // A stop in progress finishes first: its server still holds the port.
    const previous = this.#stopping
    this.#stopping = undefined
    const server = this.#createServer()
    this.#server = server
    void (previous ?? Promise.resolve()).then(() => this.#listen(server))
  }

  /**
   * Stop listening and end every connection (what was written to it is still delivered; a peer
   * that does not take it within a grace period is cut off). Idempotent; never rejects.
   */
  stop(): Promise<void> {
    const server = this.#server
    if (server === undefined) return Promise.resolve()
    this.#stopping ??= this.#stop(server)
    return this.#stopping
  }

  async #stop(server: net.Server): Promise<void> {
    clearTimeout(this.#retry)
    this.#retry = undefined
    for (const socket of this.#sockets) {
      socket.end()
      const cut = setTimeout(() => socket.destroy(), GRACE).unref()
      socket.once('close', () => clearTimeout(cut))
    }
    this.#sockets.clear()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    if (this.#server === server) this.#server = undefined
  }

  #createServer(): net.Server {
    const accept = (socket: net.Socket): void => this.#accept(socket)
    const config = this.#config
    const server =
      config.tls === undefined
        ? net.createServer(accept)
        : tls.createServer({ ...config.tls, handshakeTimeout: config.authTimeout }, accept)
    if (config.tls !== undefined) {
      // Counted from the moment the kernel hands it over: a TLS connection costs most (its
      // buffers) before it has authenticated, during the handshake.
      server.prependListener('connection', (raw: net.Socket) => {
        if (this.unauthenticated >= config.maxUnauthenticated) {
          raw.destroy()
          return
        }
        const key = peer(raw)
        this.#handshaking.set(key, raw)
        raw.once('close', () => {
          if (this.#handshaking.get(key) === raw) this.#handshaking.delete(key)
        })
      })
    }
    // A failed TLS handshake (a plain TCP client, a wrong certificate, or none within the
    // deadline) is that client's problem: its socket goes. Node leaves a timed-out one open.
    server.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => socket.destroy())
    server.on('error', (err) => {
      if (server.listening)
        this.#report(listenFault(`The leader failed to accept a connection on ${this.#where}`, 'serve', err))
    })
    server.unref()
    return server
  }

  #listen(server: net.Server): void {
    if (this.#server !== server || this.#stopping !== undefined) return
    const onError = (err: Error): void => {
      server.removeListener('listening', onListening)
      if (this.#server !== server || this.#stopping !== undefined) return
      this.#report(listenFault(`The leader could not listen on ${this.#where}`, 'listen', err))
      this.#retry = setTimeout(() => this.#listen(server), this.#backoff.next()).unref()
    }
    const onListening = (): void => {
      server.removeListener('error', onError)
      this.#backoff.reset()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({ host: this.#config.host, port: this.#config.port })
  }

  get #where(): string {
    return `${this.#config.host}:${this.#config.port}`
  }

  #accept(socket: net.Socket): void {
    this.#handshaking.delete(peer(socket))
    if (this.#stopping !== undefined) {
      socket.destroy()
      return
    }
    socket.unref()
    // A TLS socket under a pipeline has more than the default ten 'close' listeners, all ours.
    socket.setMaxListeners(20)
    socket.setNoDelay(true)
    socket.setKeepAlive(true, KEEPALIVE)
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
    this.#config.gate.admit(socket as GatedSocket, (admitted, access) => {
      if (this.#stopping !== undefined) admitted.destroy()
      else this.#serve(admitted as net.Socket, access)
    })
  }
}

/** Ms of idleness before TCP keepalive probes a connection (a peer that vanished from the network). */
const KEEPALIVE = 30_000

/** The peer's end of a TCP connection, which names it among this server's connections. */
function peer(socket: net.Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`
}
