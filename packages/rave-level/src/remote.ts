import net from 'node:net'
import { pipeline } from 'node:stream'
import tls from 'node:tls'
import { Backoff } from '@rave-level/election'
import { Dispatcher } from '@rave-level/guest/internal'
import type { Access } from '@rave-level/host'
import type { CacheOptions } from '@rave-level/guest'
import {
  AUTH_FAILED,
  DEFAULT_MAX_FRAME_SIZE,
  decodeOutput,
  encodeInput,
  firstFrame,
  Input,
  Output,
  remoteError
} from '@rave-level/protocol'
import type { AbstractDatabaseOptions } from 'abstract-level'
import type ModuleError from 'module-error'
import { checkTimes, connectionFailed, remoteUnreachable } from './errors.js'
import { abandoned, OpeningFacade, stopOpening } from './facade.js'
import { parseRemoteUrl, type RemoteUrl } from './remote-url.js'

/**
 * Options of {@link RemoteLevel} (`RaveLevel.connect()`): those of `abstract-level`
 * (`keyEncoding`, `valueEncoding`, ...), a follower's (`retry`, `timeout`, `stalledAfter`,
 * `maxFrameSize`, `readOnly`, `cache`, as for `RaveLevel`), and the credentials.
 */
export interface RemoteLevelOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /** The bearer token the leader's `listen.tokens` knows. Read it from a file or the environment, never from code. */
  token?: string | undefined
  /**
   * Node's `tls.connect` options: `ca` (to trust a private CA), and `cert` and `key` for mutual
   * TLS. The server's name is checked against the URL's host, as HTTPS does.
   */
  tls?: tls.ConnectionOptions | undefined
  /** As for `RaveLevel`: retry in issue order across reconnects (default `true`). */
  retry?: boolean | undefined
  /**
   * Ms an operation may wait while no leader is reachable (`LEVEL_CONNECTION_LOST`) or while
   * the leader says nothing at all (`LEVEL_TIMEOUT`); a connection silent that long is dropped
   * and made again. Also how long `open()` waits. Default `10000`.
   */
  timeout?: number | undefined
  /** After how long (ms) of silence a `'stalled'` event is emitted. Default `2000`. */
  stalledAfter?: number | undefined
  /** Largest frame exchanged with the leader, in bytes. Default 64 MiB. */
  maxFrameSize?: number | undefined
  /** Reject writes with `LEVEL_READONLY` before they travel. Default `false`. */
  readOnly?: boolean | undefined
  /**
   * As for `RaveLevel`: answer `get`, `getMany`, `has` and `hasMany` from memory when the key is
   * cached, with the same guarantee (a read served from the cache returns what a read sent to
   * the leader at that moment could return). Off by default. Over a network a write by another
   * process may wait up to `lease` for this follower if the path to it stops delivering.
   */
  cache?: CacheOptions | undefined
}

/**
 * Where a remote follower finds its leader when that moves between machines: called before each
 * connect attempt, it returns the URL to try (`tls://host:port`, or `tcp://host:port` on
 * loopback), for example the value a leader publishes in a `LeaseElection`, through
 * `@rave-level/election/lease`'s `LeaderObserver`:
 * `async (signal) => (await observer.next(signal)).value`. It may wait (while no leader is
 * known); `signal` aborts when the database closes. Only `tls://host:port` URLs are taken from a
 * source (the certificate is verified before the token is sent, wherever the source points). A
 * throw, a rejection or another URL counts as a failed attempt (a `TypeError`, the cause of
 * `LEVEL_CONNECTION_LOST` once `timeout` passed): the follower backs off and asks again.
 */
export type RemoteUrlSource = (signal: AbortSignal) => string | Promise<string>

/** Reconnect delays: from 20 ms, doubling, up to 2 s, with jitter. */
const RECONNECT_MIN = 20
const RECONNECT_MAX = 2000
/** Largest answer to `Auth` read. */
const MAX_AUTH_ANSWER = 4096
/** Ms after `timeout` of silence before the connection is dropped (its operations rejected first). */
const SILENCE_MARGIN = 250
/** Ms of idleness before TCP keepalive probes the connection. */
const KEEPALIVE = 30_000

/**
 * Certificate problems: connecting again with the same settings cannot help, so `open()` fails
 * at once with them, as with a refused token.
 */
const LASTING_TLS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID'
])

/**
 * A follower on another machine: the database a `RaveLevel` leader serves on TCP (its `listen`
 * option), over TLS, with credentials. It has the whole surface of a local follower (retries
 * in issue order, iterators that resume, `watch()` with gaps, snapshots bound to their
 * connection, `timeout` and `'stalled'`, heartbeats), reconnects with backoff (exponential,
 * jittered, from 20 ms to 2 s) when the leader moves or the network drops, and never leads.
 * Create it with `RaveLevel.connect(url, options)`.
 *
 * `open()` (called by the constructor) resolves once the leader accepted the credentials, and
 * rejects (`LEVEL_DATABASE_NOT_OPEN`, with the cause) at once when it refused them
 * (`LEVEL_AUTH_FAILED`) or the server's certificate does not verify, or when no leader answered
 * within `timeout`. Later, a refusal (a token revoked) rejects what waits with
 * `LEVEL_AUTH_FAILED` and is reported on `'error'`, if listened to; connecting goes on, at the
 * slowest pace. It cannot be reopened after `close()`.
 *
 * Error codes: those of a `RaveLevel` follower, plus `LEVEL_AUTH_FAILED`, `LEVEL_READONLY`
 * (a read-only token, or `readOnly`) and `LEVEL_CONNECTION_LOST` (no leader reachable for
 * `timeout`, with the last connection error as cause).
 */
export class RemoteLevel<K = string, V = string> extends OpeningFacade<K, V> {
  /** The URL of the current or last connect attempt (`undefined` before a source gave one). */
  #url: RemoteUrl | undefined
  readonly #source: RemoteUrlSource | undefined
  readonly #d: Dispatcher
  readonly #token: string | undefined
  readonly #tls: tls.ConnectionOptions | undefined
  readonly #timeout: number
  readonly #stalledAfter: number
  readonly #backoff = new Backoff(RECONNECT_MIN, RECONNECT_MAX)
  #running: AbortController | undefined
  #socket: net.Socket | undefined
  /** When the current socket last received anything (epoch ms). */
  #heard = 0
  #access: Access | undefined
  #leaderPid: number | undefined
  #lastError: Error | undefined
  /** Settles the pending open(). */
  #opened: ((err?: Error) => void) | undefined
  readonly #reported = new Set<string>()

  /**
   * @param url `tls://host:port`, or `tcp://host:port` on loopback only; or a
   *   {@link RemoteUrlSource} that gives one before each connect attempt.
   * @throws `TypeError` for a URL that is not one of those; `RangeError` unless `timeout` and
   *   `stalledAfter` are positive numbers.
   */
  constructor(url: string | RemoteUrlSource, options: RemoteLevelOptions<K, V> = {}) {
    const parsed = typeof url === 'function' ? undefined : parseRemoteUrl(url)
    const {
      token,
      tls: tlsOptions,
      retry,
      timeout = 10_000,
      stalledAfter = 2_000,
      maxFrameSize = DEFAULT_MAX_FRAME_SIZE,
      cache,
      ...rest
    } = options
    if (token !== undefined && typeof token !== 'string') throw new TypeError("The 'token' option must be a string")
    checkTimes({ timeout, stalledAfter })
    const d = new Dispatcher({ retry: retry !== false, maxFrameSize, timeout, stalledAfter, cache })
    super(rest, d, { events: { stalled: true, flush: true, connect: true, disconnect: true } })
    this.#url = parsed
    this.#source = typeof url === 'function' ? url : undefined
    this.#d = d
    this.#token = token
    this.#tls = tlsOptions
    this.#timeout = timeout
    this.#stalledAfter = stalledAfter
    d.events = {
      stalled: (info) => {
        this.emit('stalled', info)
        this.#watchSilence()
      },
      introduced: (pid) => {
        this.#leaderPid = pid
      },
      unreachable: (waited) => this.#unreachable(waited),
      connect: () => this.emit('connect'),
      disconnect: () => this.emit('disconnect'),
      flush: () => this.emit('flush')
    }
  }

  /**
   * The URL this database connects to (as `location` is a `RaveLevel`'s directory); with a
   * {@link RemoteUrlSource}, the URL of the current or last attempt (`''` before the first).
   */
  get location(): string {
    return this.#url?.href ?? ''
  }

  /** `'follower'` while connected to a leader that accepted the credentials, else `'electing'`: it never leads. */
  get role(): 'follower' | 'electing' {
    return this.#d.host === null ? 'electing' : 'follower'
  }

  /** What the leader granted the credentials: `'readwrite'` or `'readonly'` (`undefined` before it answered). */
  get access(): Access | undefined {
    return this.#access
  }

  /** The process id the current leader announced (`undefined` while not connected). */
  get leaderPid(): number | undefined {
    return this.#d.host === null ? undefined : this.#leaderPid
  }

  /** `close()` came while connecting, with nothing issued: end the open (see OpeningFacade). */
  protected override [stopOpening](err: Error): void {
    this.#opened?.(err)
  }

  override async _open(): Promise<void> {
    await super._open()
    const running = new AbortController()
    this.#running = running
    const deadline = Number.isFinite(this.#timeout)
      ? setTimeout(() => this.#opened?.(this.#unreachable(this.#timeout)), this.#timeout)
      : undefined
    try {
      await new Promise<void>((resolve, reject) => {
        this.#opened = (err) => {
          this.#opened = undefined
          if (err === undefined) resolve()
          else reject(err)
        }
        // close() came before this point (open() had not reached its first attempt).
        const stop = this[abandoned]
        if (stop !== undefined) this.#opened(stop)
        else void this.#run(running.signal)
      })
    } catch (err) {
      running.abort()
      this.#socket?.destroy()
      throw err
    } finally {
      clearTimeout(deadline)
    }
  }

  override async _close(): Promise<void> {
    // What was issued before close() settles first, over reconnects if need be.
    await super._close()
    this.#running?.abort()
    this.#socket?.destroy()
  }

  /** Connect, authenticate, serve the dispatcher until the connection ends; again, with backoff. */
  async #run(signal: AbortSignal): Promise<void> {
    let delay = 0
    while (!signal.aborted) {
      if (delay > 0 && !(await sleep(delay, signal))) return
      let socket: net.Socket
      try {
        socket = await this.#connect(await this.#next(signal), signal)
      } catch (err) {
        if (signal.aborted) return
        this.#lastError = err as Error
        if (!isLasting(err)) {
          delay = this.#backoff.next()
          continue
        }
        if (this.#opened !== undefined) {
          this.#opened(err as Error)
          return
        }
        // Refused after it once worked (a token revoked, a new certificate): what waits cannot
        // succeed with these credentials. Keep trying, slowly: they may be accepted again.
        this.#d.rejectWaiting(err as Error)
        this.#report(err as ModuleError)
        delay = RECONNECT_MAX
        continue
      }
      const since = Date.now()
      this.#socket = socket
      this.#heard = since
      const closed = new Promise((resolve) => socket.once('close', resolve))
      pipeline(socket, this.#d.attach(socket), socket, () => {})
      socket.on('data', () => {
        this.#heard = Date.now()
      })
      this.#opened?.()
      await closed
      if (this.#socket === socket) this.#socket = undefined
      // A connection that lasted forgets past failures; one that dropped at once (a leader
      // dying as it accepted) does not, so that a leader that drops everyone is not hammered.
      if (Date.now() - since >= RECONNECT_MAX) this.#backoff.reset()
      // The usual reason for a drop is a leader that moved: try the next one at once.
      delay = 0
    }
  }

  /**
   * The URL to try next: the fixed one, or what the source says now. The source may wait for a
   * leader to be known; closing must not wait for it, so its answer is raced with the signal.
   */
  async #next(signal: AbortSignal): Promise<RemoteUrl> {
    const source = this.#source
    if (source === undefined) return this.#url as RemoteUrl
    const url = await new Promise<string>((resolve, reject) => {
      const onAbort = (): void => reject(new Error('Closed'))
      signal.addEventListener('abort', onAbort, { once: true })
      Promise.resolve()
        .then(() => source(signal))
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort))
    })
    const parsed = parseRemoteUrl(url)
    // Whoever writes the source's answers (an election's value, in etcd) must not be able to
    // send the token in clear to whatever listens on a loopback port: over TLS, the server's
    // certificate is verified before the token travels.
    if (!parsed.tls) throw new TypeError(`Refusing ${url} from a URL source: only tls:// URLs are taken from a source`)
    this.#url = parsed
    return parsed
  }

  /** One connection: TCP or TLS, then `Auth` and its answer. Resolves with the socket, paused. */
  #connect(url: RemoteUrl, signal: AbortSignal): Promise<net.Socket> {
    const { host, port } = url
    const socket = url.tls
      ? tls.connect({ servername: net.isIP(host) === 0 ? host : undefined, ...this.#tls, host, port })
      : net.connect({ host, port, noDelay: true })
    // The dispatcher refs it while something waits for the leader; until then it holds nothing.
    socket.unref()
    socket.setNoDelay(true)
    socket.setKeepAlive(true, KEEPALIVE)
    return new Promise((resolve, reject) => {
      let input: Buffer = Buffer.alloc(0)
      const fail = (err: Error): void => {
        cleanup()
        socket.on('error', ignore)
        socket.destroy()
        reject(err)
      }
      const onAbort = (): void => fail(new Error('Closed'))
      const onClose = (): void => fail(connectionFailed('The leader closed the connection while authenticating'))
      const onError = (err: Error): void => fail(err)
      const onData = (chunk: Buffer): void => {
        input = Buffer.concat([input, chunk])
        const frame = firstFrame(input, MAX_AUTH_ANSWER)
        if (frame === 'partial') return
        if (!('body' in frame)) {
          fail(remoteError(frame.code, `Invalid answer to Auth: ${frame.message}`))
          return
        }
        let answer: ReturnType<typeof decodeOutput>
        try {
          answer = decodeOutput(frame.body)
        } catch (err) {
          fail(err as Error)
          return
        }
        if (answer.tag !== Output.authResult) {
          fail(remoteError('LEVEL_PROTOCOL_ERROR', 'The server did not answer Auth: is it a rave-level leader?'))
          return
        }
        const { access, error, message } = answer.message
        if (error !== undefined) {
          fail(remoteError(error, message))
          return
        }
        cleanup()
        socket.pause()
        if (frame.rest.length > 0) socket.unshift(frame.rest)
        this.#access = access === 'readonly' ? 'readonly' : 'readwrite'
        resolve(socket)
      }
      const timer = setTimeout(
        () => fail(connectionFailed(`No answer from ${url.href} within ${this.#handshakeTimeout} ms`)),
        this.#handshakeTimeout
      )
      timer.unref()
      const cleanup = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        socket.removeListener('data', onData)
        socket.removeListener('error', onError)
        socket.removeListener('close', onClose)
      }
      signal.addEventListener('abort', onAbort)
      socket.on('error', onError)
      socket.once('close', onClose)
      socket.on('data', onData)
      socket.once(url.tls ? 'secureConnect' : 'connect', () => {
        socket.write(encodeInput(Input.auth, { token: this.#token }))
      })
    })
  }

  /**
   * How long connecting and authenticating may take: as long as a leader may be silent before
   * it counts as stalled (at least a second), and never longer than `timeout`. An attempt stuck
   * on a dead path must give way to the next one soon, or a path that comes back would be
   * noticed only after what waits for it timed out.
   */
  get #handshakeTimeout(): number {
    return Math.min(this.#timeout, Math.max(this.#stalledAfter, 1000))
  }

  /**
   * The leader has said nothing for `stalledAfter` while we wait. If it stays silent for
   * `timeout`, the operations waiting reject with `LEVEL_TIMEOUT` (the dispatcher's watchdog);
   * a moment later the connection is dropped, so that the next one, once the path is back,
   * serves what comes after. Only silence counts: a connection that hears anything is kept.
   */
  #watchSilence(): void {
    const socket = this.#socket
    if (socket === undefined || !Number.isFinite(this.#timeout)) return
    const from = this.#heard
    const check = (): void => {
      if (this.#socket !== socket || this.#heard !== from) return
      const quiet = Date.now() - from
      if (quiet >= this.#timeout + SILENCE_MARGIN) socket.destroy()
      else setTimeout(check, this.#timeout + SILENCE_MARGIN - quiet).unref()
    }
    check()
  }

  #unreachable(waited: number): ModuleError {
    return remoteUnreachable(this.#url?.href ?? 'any URL (its source gave none)', waited, this.#lastError)
  }

  /** Emit 'error' once per distinct failure, only if someone listens. */
  #report(err: ModuleError): void {
    const key = `${err.code}:${err.message}`
    if (this.#reported.has(key)) return
    this.#reported.add(key)
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }
}

/** Failures that connecting again with the same settings cannot heal. */
function isLasting(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === AUTH_FAILED || (typeof code === 'string' && LASTING_TLS.has(code))
}

/** Resolve with `true` after `ms`, or `false` as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve(!signal.aborted)
    }
    const timer = setTimeout(done, ms)
    timer.unref()
    signal.addEventListener('abort', done)
  })
}

function ignore(): void {}
