import { EventEmitter } from 'node:events'
import net from 'node:net'
import type ModuleError from 'module-error'
import { closeEndpoint, endpointName, endpointPath } from './endpoint.js'
import { type EndpointFailure, EndpointServer, serveEndpoint } from './endpoint-server.js'
import { type ElectionFault, electionFault } from './errors.js'
import {
  type Connecting,
  connecting,
  type Electing,
  electing,
  refAttempt,
  type State,
  teardown as teardownState
} from './state.js'
import { LeaderlessWatch, type StalledInfo } from './leaderless-watch.js'
import { type ElectionOptions, type Endpoint, type ResolvedOptions, resolveOptions } from './options.js'
import { RetryDelay } from './retry-delay.js'

/**
 * What an {@link Election} is doing:
 *
 * - `idle`: constructed, not started;
 * - `connecting`: waiting out a backoff delay, or trying to connect to the endpoint;
 * - `follower`: connected to the leader;
 * - `electing`: trying the lock, or (having taken it) setting up the endpoint;
 * - `leader`: holding the lock and serving the endpoint;
 * - `closing`, `closed`: after {@link Election.close}.
 */
export type ElectionRole = 'idle' | 'connecting' | 'follower' | 'electing' | 'leader' | 'closing' | 'closed'

/** The events of an {@link Election} and their arguments. */
export interface ElectionEvents<R> {
  /** This instance took the lock and serves the endpoint. */
  leader: [resource: R]
  /** This instance connected to the leader. */
  follower: [socket: net.Socket]
  /** A leaderless period starts: the follower's socket closed, or the leader stopped. */
  disconnected: []
  /** The lock stays held but no endpoint answers (once per episode). */
  stalled: [info: StalledInfo]
  /** No leader for `timeout` ms (and again every `timeout` ms). Code `LEVEL_LOCKED`. */
  timeout: [error: ModuleError]
  /** A fault the user must see (`LEVEL_ELECTION_FAULT`); the election carries on. Only emitted when there are listeners. */
  error: [error: ElectionFault]
  /** {@link Election.close} finished. */
  close: []
}

/**
 * Lock-based leader election around any lock-guarded resource. Whoever holds the lock serves an
 * endpoint (a unix socket or a Windows named pipe); everyone else connects to it. When the
 * connection drops, the election runs again, and the first to take the lock serves next.
 *
 * The cycle: connect to the endpoint; when that fails, try the lock; when the lock is taken,
 * remove a stale endpoint, listen and lead; when the lock is held by someone else, connect again
 * after an exponential, jittered backoff. A follower whose connection drops tries the lock at once.
 * A failed connect is never taken as proof that the leader is dead: only the lock decides, and
 * only the lock holder touches the endpoint.
 *
 * Neither the server, the sockets nor the timers keep the event loop alive (they are unref'd): a
 * process stays alive only because of what the user does with the resource and the sockets, or
 * because of {@link Election.ref} while it waits for a leader.
 *
 * Errors (on `'error'`, only when it has listeners): `LEVEL_ELECTION_FAULT`, with a `stage`
 * (`acquire`, `listen`, `release`, `serve`, `follow`). `'timeout'` carries `LEVEL_LOCKED`.
 * {@link Election.close} may reject with `LEVEL_ELECTION_FAULT` (stage `release`).
 *
 * @typeParam R The resource the lock guards (for example an open database). Never `undefined`.
 */
export class Election<R> extends EventEmitter<ElectionEvents<R>> {
  readonly #options: ResolvedOptions<R>
  readonly #retry: RetryDelay
  readonly #watch: LeaderlessWatch
  readonly #teardowns = new Set<Promise<unknown>>()
  #state: State<R> = { role: 'idle' }
  #epoch = 0
  #lastEndpoint = ''
  #ref = false
  #closed: Promise<void> | undefined

  /**
   * Create an election. It does not start by itself: call {@link Election.start}.
   *
   * @throws `TypeError` or `RangeError` for invalid options.
   */
  constructor(options: ElectionOptions<R>) {
    super()
    this.#options = resolveOptions(options)
    this.#retry = new RetryDelay(this.#options.backoffMin, this.#options.backoffMax)
    this.#watch = new LeaderlessWatch(
      this.#options.stalledAfter,
      this.#options.timeout,
      (info) => this.emit('stalled', info),
      (err) => this.emit('timeout', err)
    )
  }

  /** What this instance is doing now. */
  get role(): ElectionRole {
    return this.#state.role
  }

  /** The resource, while this instance is the leader; `undefined` otherwise. */
  get resource(): R | undefined {
    return this.#state.role === 'leader' ? this.#state.resource : undefined
  }

  /** Start the election (connect first). Does nothing unless the role is `idle`. */
  start(): void {
    if (this.#state.role !== 'idle') return
    this.#enter(connecting(0))
  }

  /**
   * Keep the event loop alive while this instance looks for a leader: its retry timers and connect
   * attempts hold the loop until {@link Election.unref}. Use it while something waits for a
   * leader (for example queued operations), so that the process cannot exit in the middle of an
   * election. It never covers the follower's socket or the leader's server and connections,
   * which are the user's to ref. Returns `this`.
   */
  ref(): this {
    this.#setRef(true)
    return this
  }

  /** Undo {@link Election.ref}: the default, nothing of the election holds the event loop. */
  unref(): this {
    this.#setRef(false)
    return this
  }

  #setRef(ref: boolean): void {
    this.#ref = ref
    refAttempt(this.#state, ref)
  }

  /**
   * Give up leadership and run the election again: stop serving (followers are cut off),
   * release the lock, then try to connect or take the lock like everyone else. For a leader
   * whose resource failed in a way only releasing and reacquiring it can heal (for example a
   * database that keeps a write error until it is reopened). Resolves once the release
   * settled. Does nothing unless this instance leads.
   */
  async resign(): Promise<void> {
    if (this.#state.role !== 'leader') return
    this.#retry.resigned()
    // A failed release is reported on 'error' by #enter.
    await this.#enter(connecting(0))
  }

  /**
   * Stop taking part. A leader stops serving (closes its server, destroys follower connections),
   * removes the socket file it created, and releases the lock; a follower destroys its socket; a
   * pending `acquire()` is aborted (and its resource released if it arrives anyway). Resolves
   * when every release this instance started has settled. Idempotent.
   *
   * @throws `LEVEL_ELECTION_FAULT` (stage `release`) when `release()` rejected while closing.
   */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      // Assign before running anything: entering `closing` emits events whose listeners may call
      // close() again.
      let settle!: [() => void, (err: unknown) => void]
      this.#closed = new Promise<void>((resolve, reject) => {
        settle = [resolve, reject]
      })
      this.#close().then(...settle)
    }
    return this.#closed
  }

  async #close(): Promise<void> {
    const error = await this.#enter({ role: 'closing' })
    await this.#settled()
    this.#enter({ role: 'closed' })
    if (error !== undefined) throw error
  }

  /**
   * The only place the state changes: tear down the old state, bump the epoch (so that every
   * pending continuation of the old state sees it is stale), emit at most one event, and start
   * the new state. Returns the old state's teardown, which never rejects; its error (a failed
   * release) is reported on `'error'`, except when closing, whose caller takes it.
   */
  #enter(next: State<R>): Promise<ElectionFault | undefined> {
    const prev = this.#state
    this.#state = next
    const epoch = ++this.#epoch

    const teardown = teardownState(prev, this.#options.release)
    this.#teardowns.add(teardown)
    void teardown.then((err) => {
      this.#teardowns.delete(teardown)
      if (err !== undefined && next.role !== 'closing') this.#report(err)
    })

    if (next.role === 'connecting' || next.role === 'electing') this.#watch.begin()
    else this.#watch.end()

    this.#announce(prev, next)
    if (this.#epoch === epoch) this.#run(next, epoch)
    return teardown
  }

  #announce(prev: State<R>, next: State<R>): void {
    switch (next.role) {
      case 'follower':
        this.#follow(next.socket)
        return
      case 'leader':
        this.emit('leader', next.resource)
        return
      case 'closed':
        this.emit('close')
        return
    }
    if (prev.role === 'follower' || prev.role === 'leader') this.emit('disconnected')
  }

  #run(state: State<R>, epoch: number): void {
    if (state.role === 'connecting') {
      if (state.delay > 0) {
        state.timer = setTimeout(() => void this.#dial(state, epoch), state.delay)
        if (!this.#ref) state.timer.unref()
      } else void this.#dial(state, epoch)
    } else if (state.role === 'electing') {
      void this.#elect(state, epoch)
    }
  }

  async #dial(state: Connecting<R>, epoch: number): Promise<void> {
    state.timer = undefined
    const option = this.#options.endpoint
    let endpoint: Endpoint | undefined
    let socket: net.Socket
    try {
      endpoint = typeof option === 'string' ? option : await option.connect()
      if (this.#epoch !== epoch) {
        closeEndpoint(endpoint)
        return
      }
      socket = net.connect(endpointPath(endpoint))
    } catch {
      if (endpoint !== undefined) closeEndpoint(endpoint)
      // Not knowing where the leader is (the resolver failed, or returned something net.connect
      // rejects) proves nothing either: let the lock decide.
      if (this.#epoch === epoch) this.#enter(electing())
      return
    }
    this.#lastEndpoint = endpointName(endpoint)
    // An open endpoint is only needed to reach the leader: once the attempt settled (connected,
    // refused, or cut by a teardown), a connected socket no longer depends on its path.
    const opened = endpoint
    const settled = (): void => {
      socket.removeListener('connect', settled)
      socket.removeListener('close', settled)
      closeEndpoint(opened)
    }
    socket.once('connect', settled)
    socket.once('close', settled)
    state.socket = socket
    if (!this.#ref) socket.unref()
    // Resets and refused connects surface as 'close' below; this only keeps them from throwing.
    socket.on('error', ignore)
    socket.once('connect', () => {
      if (this.#state !== state) return
      // The socket moves to the follower state: the teardown of this state must not destroy it.
      state.socket = undefined
      // The follower's socket is the user's to ref, whatever ref() said about the attempt.
      socket.unref()
      this.#enter({ role: 'follower', socket, since: performance.now() })
    })
    // One listener for both fates of the socket: a failed connect (ENOENT, ECONNREFUSED, EAGAIN)
    // and a dropped follower connection both mean "try the lock", and in the second case at once,
    // which is what makes failover as fast as the kernel frees the lock.
    socket.once('close', () => {
      const current = this.#state
      if ((current.role === 'connecting' || current.role === 'follower') && current.socket === socket) {
        if (current.role === 'follower') this.#retry.followerClosed(current.since)
        this.#enter(electing())
      }
    })
  }

  async #elect(state: Electing<R>, epoch: number): Promise<void> {
    // Never ask for the lock while our own release is in flight: the lock would look held (or, for
    // some resources, opening twice in one process fails outright).
    if (this.#teardowns.size > 0) {
      await this.#settled()
      if (this.#epoch !== epoch) return
    }

    let acquiring: Promise<R | undefined>
    try {
      acquiring = Promise.resolve(this.#options.acquire(state.controller.signal))
    } catch (err) {
      acquiring = Promise.reject(err)
    }
    state.acquiring = acquiring
    let resource: R | undefined
    try {
      resource = await acquiring
    } catch (err) {
      if (this.#epoch !== epoch) return
      state.acquiring = undefined
      this.#enter(connecting(this.#retry.failed()))
      this.#report(electionFault('Failed to acquire the lock', 'acquire', err))
      return
    }
    // A new epoch means the teardown awaited `acquiring` too and releases the resource.
    if (this.#epoch !== epoch) return
    state.acquiring = undefined

    if (resource === undefined) {
      this.#watch.lockHeld(this.#lastEndpoint)
      // At once the first time after a success (a hand-over in progress), later backing off.
      this.#enter(connecting(this.#retry.held()))
      return
    }

    state.resource = resource
    this.#watch.lockTaken()
    const leased = resource
    const server = new EndpointServer(
      (socket) => this.#serve(socket, leased),
      (err) => this.#report(electionFault('The leader failed to accept a connection', 'serve', err))
    )
    state.server = server
    const serving = serveEndpoint(this.#options.endpoint, server, () => this.#epoch === epoch)
    state.serving = serving.catch(() => {})
    try {
      if ((await serving) === undefined) return
    } catch (err) {
      if (this.#epoch !== epoch) return
      // Entering `connecting` tears this state down, which closes the server and releases the
      // lock: a leader that cannot serve must not keep everyone else from trying.
      this.#enter(connecting(this.#retry.failed()))
      const { endpoint, reason } = err as EndpointFailure
      this.#report(electionFault(`Failed to serve ${endpoint ?? 'the endpoint'}`, 'listen', reason))
      return
    }

    // Hand the resource and the server over to the leader state; this state's teardown must not
    // release or close them.
    state.resource = undefined
    state.server = undefined
    this.#retry.led()
    this.#enter({ role: 'leader', resource, server })
  }

  #serve(socket: net.Socket, resource: R): void {
    try {
      this.#options.serve(socket, resource)
    } catch (err) {
      socket.destroy()
      this.#report(electionFault('serve() threw', 'serve', err))
    }
  }

  #follow(socket: net.Socket): void {
    const { follow } = this.#options
    if (follow !== undefined) {
      try {
        follow(socket)
      } catch (err) {
        // The 'close' listener of #dial turns this into a new election.
        socket.destroy()
        this.#report(electionFault('follow() threw', 'follow', err))
      }
    }
    if (this.#state.role === 'follower' && this.#state.socket === socket) this.emit('follower', socket)
  }

  /** Emit `'error'` only when someone listens: an election fault must never crash the process. */
  #report(err: ElectionFault): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  async #settled(): Promise<void> {
    while (this.#teardowns.size > 0) await Promise.all(this.#teardowns)
  }
}

function ignore(): void {}
