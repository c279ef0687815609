import { type Etcd3, EtcdLeaseInvalidError, type Lease } from 'etcd3'

/**
 * One etcd lease, kept alive, with a deadline on this process's own monotonic clock: the time by
 * which the lease may have run out on etcd, as far as this process can prove otherwise. (etcd's
 * Go client calls the same thing a session.)
 *
 * The deadline is `t + TTL - margin`, where `t` is `performance.now()` taken *before* the grant or
 * the last successful keep-alive was sent. etcd restarts the TTL when it receives the request,
 * which is after `t` on any clock that runs at the same rate, so the lease cannot run out on
 * etcd before the deadline; the margin absorbs timers that fire late and clocks that run at
 * slightly different rates. Whether etcd answers or not does not move the deadline back: a
 * process that hears nothing stops at the deadline, and a process that was stopped (SIGSTOP, a
 * long GC pause) finds the deadline in the past the moment it runs again. Nothing ever extends a
 * session that expired: a late answer to a keep-alive sent in time is ignored.
 *
 * Keep-alives go out every third of the TTL, and after a failure every quarter second, until the
 * deadline. Timers are unref'd. @internal
 */
export class LeaseSession {
  /** The lease's id, as etcd prints it (a decimal int64). */
  readonly id: string
  readonly #lease: Lease
  readonly #ttl: number
  readonly #margin: number
  readonly #onExpired: (cause: unknown) => void
  #deadline: number
  #expiry: NodeJS.Timeout | undefined
  #keepalive: NodeJS.Timeout | undefined
  #ended = false

  private constructor(
    lease: Lease,
    id: string,
    ttl: number,
    margin: number,
    deadline: number,
    onExpired: (cause: unknown) => void
  ) {
    this.#lease = lease
    this.id = id
    this.#ttl = ttl
    this.#margin = margin
    this.#deadline = deadline
    this.#onExpired = onExpired
    this.#armExpiry()
    this.#schedule(this.#interval())
  }

  /**
   * Grant a lease of `ttl` seconds and keep it alive until {@link LeaseSession.end}.
   * `onExpired` is called once, when the deadline passes or etcd says the lease is gone, unless
   * the session was ended first.
   *
   * @throws Whatever the grant failed with (etcd unreachable, timed out, ...), or an `Error`
   * when the grant was answered so late that its deadline passed already.
   */
  static async grant(
    client: Etcd3,
    ttl: number,
    margin: number,
    onExpired: (cause: unknown) => void
  ): Promise<LeaseSession> {
    const sent = performance.now()
    const lease = client.lease(ttl, { autoKeepAlive: false, deadline: Date.now() + (ttl * 1000) / 2 })
    // The lease emits 'lost' when its grant fails; grant() rejects with the same error.
    lease.on('lost', ignore)
    const id = await lease.grant()
    const deadline = sent + ttl * 1000 - margin
    if (performance.now() >= deadline) {
      void lease.revoke().catch(ignore)
      throw new Error('The lease was granted too late to be of use')
    }
    return new LeaseSession(lease, id, ttl, margin, deadline, onExpired)
  }

  /** `performance.now()` by which the lease may have run out on etcd. */
  get deadline(): number {
    return this.#deadline
  }

  /** Whether the lease is provably alive on etcd now: not ended and before the deadline. */
  get alive(): boolean {
    return !this.#ended && performance.now() < this.#deadline
  }

  /** Stop keeping the lease alive, without telling etcd (it runs out by itself). Idempotent. */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#expiry)
    clearTimeout(this.#keepalive)
    this.#lease.release()
  }

  /**
   * End the session and revoke the lease, so that etcd deletes its keys at once instead of after
   * the TTL. Rejects when etcd could not be told within `timeout` ms; the lease then runs out by
   * itself.
   */
  async revoke(timeout: number): Promise<void> {
    this.end()
    await this.#lease.revoke({ deadline: Date.now() + timeout })
  }

  #interval(): number {
    return (this.#ttl * 1000) / 3
  }

  #schedule(delay: number): void {
    this.#keepalive = setTimeout(() => void this.#renew(), delay).unref()
  }

  #armExpiry(): void {
    clearTimeout(this.#expiry)
    this.#expiry = setTimeout(() => this.#check(), Math.max(0, this.#deadline - performance.now())).unref()
  }

  /** Expire if the deadline passed (a timer may fire late, or the process may have been stopped). */
  #check(cause?: unknown): boolean {
    if (this.#ended) return true
    if (cause === undefined && performance.now() < this.#deadline) {
      this.#armExpiry()
      return false
    }
    this.end()
    this.#onExpired(cause ?? new Error('The lease could not be renewed before its deadline'))
    return true
  }

  async #renew(): Promise<void> {
    if (this.#check()) return
    const sent = performance.now()
    try {
      const response = await this.#lease.keepaliveOnce({ deadline: Date.now() + (this.#deadline - sent) })
      if (this.#ended) return
      // etcd answers with the TTL it restarted (at least the one asked for).
      const ttl = Number(response.TTL) > 0 ? Number(response.TTL) : this.#ttl
      this.#deadline = Math.max(this.#deadline, sent + ttl * 1000 - this.#margin)
      if (this.#check()) return
      this.#schedule(this.#interval())
    } catch (err) {
      if (this.#ended) return
      // etcd says the lease is gone (it ran out while we could not reach it): that is final.
      if (err instanceof EtcdLeaseInvalidError) {
        this.#check(err)
        return
      }
      if (this.#check()) return
      this.#schedule(Math.min(250, this.#interval()))
    }
  }
}

function ignore(): void {}
