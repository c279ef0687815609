import { EventEmitter } from 'node:events'
import type { IKeyValue, Namespace, Watcher } from 'etcd3'
import type ModuleError from 'module-error'
import { Backoff } from './backoff.js'
import { type ElectionFault, electionFault, leaseLost } from './errors.js'
import { LeaderlessWatch, type StalledInfo } from './leaderless-watch.js'
import { type LeaseElectionOptions, type ResolvedLeaseOptions, resolveLeaseOptions } from './lease-options.js'
import { LeaseSession } from './lease-session.js'

/**
 * One leadership of a {@link LeaseElection}: what the leader needs to act, and to prove to a
 * resource that it may.
 */
export interface Leadership {
  /**
   * The fencing token: the create revision of the leader's key in etcd. Every later leadership
   * of the same election, in any process, has a greater token. Send it with every action on the
   * guarded resource; a resource that remembers the greatest token it saw and refuses smaller
   * ones cannot be changed by a leader that was replaced (paused, cut off) without knowing it.
   */
  readonly token: bigint
  /** The value this leader published (its endpoint). */
  readonly value: string
  /**
   * Aborts the moment this leadership ends: its lease could not be renewed in time (the reason
   * is a `LEVEL_LEASE_LOST` error), or `resign()` or `close()` (an `AbortError`). Stop acting
   * then: stop serving, close the resource.
   */
  readonly signal: AbortSignal
  /**
   * Whether this process may still act as leader, checked on the clock now (not by a timer that
   * might not have fired yet): the leadership has not ended and the lease's deadline has not
   * passed. Check it right before each action; the resource's token check covers the rest (a
   * pause between this check and the action).
   */
  readonly valid: boolean
  /** `performance.now()` by which this leader stops unless its lease is renewed. */
  readonly deadline: number
}

/** The leader as a follower sees it: what it published and its fencing token. */
export interface LeaderInfo {
  /** The leader's published value (its endpoint, such as `tls://host:port`). */
  readonly value: string
  /** The leader's fencing token (see {@link Leadership.token}). */
  readonly token: bigint
}

/**
 * What a {@link LeaseElection} is doing: `idle` (not started), `electing` (no leader known:
 * campaigning, or etcd cannot be reached), `follower` (another candidate leads), `leader`,
 * `closing`, `closed`.
 */
export type LeaseElectionRole = 'idle' | 'electing' | 'follower' | 'leader' | 'closing' | 'closed'

/** The events of a {@link LeaseElection} and their arguments. */
export interface LeaseElectionEvents {
  /** This candidate leads. */
  leader: [leadership: Leadership]
  /** Another candidate leads (emitted again when the leader or its value changes). */
  follower: [leader: LeaderInfo]
  /** A leaderless period starts: the leader lost its lease or stopped, or a follower lost sight of etcd. */
  disconnected: []
  /** This leader's lease could not be renewed before its deadline: it must stop acting at once. Code `LEVEL_LEASE_LOST`. */
  lost: [error: ModuleError]
  /** No leader has been known for `stalledAfter` ms because etcd could not be reached (once per episode). */
  stalled: [info: StalledInfo]
  /** No leader for `timeout` ms (and again every `timeout` ms). Code `LEVEL_LOCKED`. */
  timeout: [error: ModuleError]
  /** A fault the election carries on from (`LEVEL_ELECTION_FAULT`, stage `campaign` or `release`). Only emitted when there are listeners. */
  error: [error: ElectionFault]
  /** {@link LeaseElection.close} finished. */
  close: []
}

type State =
  | { readonly role: 'idle' | 'electing' | 'closing' | 'closed' }
  | { readonly role: 'follower'; readonly leader: LeaderInfo }
  | { readonly role: 'leader'; readonly leadership: LeadershipState }

/**
 * This candidate's place in the election: a lease and the key it owns under the election's
 * prefix, and the watcher that wakes the candidate when any key there changes.
 */
interface Candidacy {
  readonly session: LeaseSession
  readonly key: string
  watcher: Watcher | undefined
  retry: NodeJS.Timeout | undefined
  reading: boolean
  again: boolean
}

/**
 * Leader election whose lock is an etcd lease, for candidates on different machines. It follows
 * etcd's own recipe (the Go client's `concurrency.Election`, the `etcd3` package's `Election`):
 * each candidate puts a key under `election/<name>/` bound to its lease, and the candidate whose
 * key has the lowest create revision leads; the others watch the prefix and follow. A candidate
 * whose key is deleted (its lease revoked, or run out because its process died or cannot reach
 * etcd) drops out; the next one leads as soon as it sees the deletion.
 *
 * Unlike a kernel lock, a lease can run out while its holder still runs. Every leadership
 * therefore has a deadline on the leader's own clock (see {@link Leadership.deadline}): the
 * leader stops acting (`'lost'`, the leadership's signal aborts) before the lease can have run
 * out on etcd, whether etcd answered or not, and whether or not a timer fired in time
 * ({@link Leadership.valid} reads the clock). And every leadership has a fencing token that
 * only grows, for the resource to refuse a replaced leader that has not noticed yet.
 *
 * The election publishes the leader's value (its endpoint) and tells followers the leader's
 * value and token; connecting, and checking the token in the handshake, is up to the caller.
 *
 * Errors: `'lost'` carries `LEVEL_LEASE_LOST`; `'timeout'` carries `LEVEL_LOCKED`; `'error'`
 * (only with listeners) carries `LEVEL_ELECTION_FAULT` with stage `campaign` (a request to etcd
 * failed; the election backs off and retries) or `release` (the lease could not be revoked on
 * `resign()` or `close()`; it runs out by itself).
 */
export class LeaseElection extends EventEmitter<LeaseElectionEvents> {
  readonly #options: ResolvedLeaseOptions
  readonly #namespace: Namespace
  readonly #backoff: Backoff
  readonly #watch: LeaderlessWatch
  #state: State = { role: 'idle' }
  #candidacy: Candidacy | undefined
  /** The campaign in progress (granting and putting), so that a stale one walks away. */
  #attempt: object | undefined
  #retry: NodeJS.Timeout | undefined
  /** Leases of candidacies that ended while etcd could not be told: revoked when it can be. */
  readonly #orphans = new Set<LeaseSession>()
  #lastValue = ''
  #closed: Promise<void> | undefined

  /**
   * Create an election. It does not start by itself: call {@link LeaseElection.start}.
   *
   * @throws `TypeError` or `RangeError` for invalid options.
   */
  constructor(options: LeaseElectionOptions) {
    super()
    this.#options = resolveLeaseOptions(options)
    this.#namespace = this.#options.client.namespace(this.#options.prefix)
    this.#backoff = new Backoff(this.#options.backoffMin, this.#options.backoffMax)
    this.#watch = new LeaderlessWatch(
      this.#options.stalledAfter,
      this.#options.timeout,
      (info) => this.emit('stalled', info),
      (err) => this.emit('timeout', err)
    )
  }

  /** What this candidate is doing now. */
  get role(): LeaseElectionRole {
    return this.#state.role
  }

  /** The current leadership while this candidate leads; `undefined` otherwise. */
  get leadership(): Leadership | undefined {
    return this.#state.role === 'leader' ? this.#state.leadership : undefined
  }

  /**
   * The leader as this candidate last saw it: another candidate's value and token while
   * following, this candidate's own while leading, `undefined` otherwise.
   */
  get leader(): LeaderInfo | undefined {
    const state = this.#state
    if (state.role === 'follower') return state.leader
    if (state.role === 'leader') return { value: state.leadership.value, token: state.leadership.token }
    return undefined
  }

  /** Start campaigning. Does nothing unless the role is `idle`. */
  start(): void {
    if (this.#state.role !== 'idle') return
    this.#enter({ role: 'electing' })
    void this.#campaign()
  }

  /**
   * Give up leadership: the leadership ends (its signal aborts), the lease is revoked so that
   * the next candidate leads at once, and this candidate campaigns again, at the end of the
   * line. Resolves once the revoke settled (a failure is reported on `'error'`, stage
   * `release`). Does nothing unless this candidate leads.
   */
  async resign(): Promise<void> {
    if (this.#state.role !== 'leader') return
    const candidacy = this.#drop()
    this.#enter({ role: 'electing' })
    if (candidacy !== undefined) await this.#revoke(candidacy)
    // Unless close() or another campaign came first.
    if (this.role === 'electing' && this.#attempt === undefined && this.#candidacy === undefined) {
      void this.#campaign()
    }
  }

  /**
   * Stop taking part: a leader's leadership ends (its signal aborts), the lease is revoked (so
   * that the next candidate leads at once), and an etcd client the election created is closed.
   * Idempotent. Never rejects: a revoke that fails is reported on `'error'` (stage `release`),
   * and the lease then runs out by itself within its TTL.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    const candidacy = this.#drop()
    this.#attempt = undefined
    clearTimeout(this.#retry)
    this.#enter({ role: 'closing' })
    if (candidacy !== undefined) await this.#revoke(candidacy)
    if (this.#options.ownsClient) this.#options.client.close()
    this.#enter({ role: 'closed' })
  }

  /**
   * The only place the state changes. A leadership that ends here ends before any event is
   * emitted, so that no listener can act on it any more; `lost` is the reason when its lease
   * ran out.
   */
  #enter(next: State, lost?: ModuleError): void {
    const prev = this.#state
    this.#state = next
    if (prev.role === 'leader') prev.leadership.end(lost ?? abortError())

    if (next.role === 'electing') this.#watch.begin()
    else this.#watch.end()

    switch (next.role) {
      case 'leader':
        this.emit('leader', next.leadership)
        return
      case 'follower':
        this.emit('follower', next.leader)
        return
      case 'closed':
        this.emit('close')
        return
    }
    if (lost !== undefined) this.emit('lost', lost)
    if (prev.role === 'follower' || prev.role === 'leader') this.emit('disconnected')
  }

  /** Grant a lease, put this candidate's key, start watching, and read the election. */
  async #campaign(): Promise<void> {
    const attempt = {}
    this.#attempt = attempt
    const { client, ttl, margin, value } = this.#options
    let session: LeaseSession | undefined
    try {
      let candidacy: Candidacy | undefined
      session = await LeaseSession.grant(client, ttl, margin, (cause) => {
        if (candidacy !== undefined) this.#expired(candidacy, cause)
      })
      if (this.#attempt !== attempt) {
        this.#abandon(session)
        return
      }
      // etcd answers again: clear what earlier candidacies left behind.
      for (const orphan of this.#orphans) this.#abandon(orphan)
      const key = session.id
      const put = await this.#namespace
        .if(key, 'Create', '==', 0)
        .then(this.#namespace.put(key).value(value).lease(key))
        .options({ deadline: Date.now() + this.#requestTimeout() })
        .commit()
      if (this.#attempt !== attempt) {
        this.#abandon(session)
        return
      }
      if (!session.alive) throw new Error('The lease ran out while campaigning')
      this.#attempt = undefined
      candidacy = { session, key, watcher: undefined, retry: undefined, reading: false, again: false }
      this.#candidacy = candidacy
      this.#startWatching(candidacy, BigInt(put.header.revision) + 1n)
      void this.#read(candidacy)
    } catch (err) {
      if (this.#attempt !== attempt) return
      this.#attempt = undefined
      if (session !== undefined) this.#abandon(session)
      this.#watch.lockHeld(this.#lastValue)
      this.#report(electionFault('Failed to campaign', 'campaign', err))
      this.#retry = setTimeout(() => void this.#campaign(), this.#backoff.next()).unref()
    }
  }

  /**
   * Watch every key of the election from `revision` on: any put or delete may change who leads,
   * and so may a watch that reconnects after etcd was unreachable (the watcher resumes where it
   * stopped, but reading again is cheaper than reasoning about what it missed).
   */
  #startWatching(candidacy: Candidacy, revision?: bigint): void {
    let builder = this.#namespace.watch().prefix('')
    if (revision !== undefined) builder = builder.startRevision(String(revision))
    const watcher = builder.watcher()
    candidacy.watcher = watcher
    const changed = (): void => void this.#read(candidacy)
    watcher.on('put', changed)
    watcher.on('delete', changed)
    watcher.on('connected', changed)
    watcher.on('error', (err) => {
      if (this.#candidacy !== candidacy) return
      // A watch that etcd ended (for example, compacted past its revision): watch from now on,
      // and read what it missed.
      void watcher.cancel().catch(ignore)
      this.#report(electionFault('The election watch failed', 'campaign', err))
      this.#startWatching(candidacy)
      changed()
    })
  }

  /**
   * Read every candidate's key and take the role it implies. Reads are serialized per
   * candidacy: a change that arrives during a read is read again after it. A failed read
   * changes nothing (the lease's deadline decides when this candidate must stop believing what
   * it last saw) and is retried after a backoff.
   */
  async #read(candidacy: Candidacy): Promise<void> {
    if (candidacy.reading) {
      candidacy.again = true
      return
    }
    candidacy.reading = true
    clearTimeout(candidacy.retry)
    try {
      do {
        candidacy.again = false
        const { kvs } = await this.#namespace
          .getAll()
          .sort('Create', 'Ascend')
          .options({ deadline: Date.now() + this.#requestTimeout() })
          .exec()
        if (this.#candidacy !== candidacy) return
        this.#backoff.reset()
        this.#observe(candidacy, kvs)
      } while (candidacy.again && this.#candidacy === candidacy)
    } catch (err) {
      if (this.#candidacy !== candidacy) return
      this.#report(electionFault('Failed to read the election', 'campaign', err))
      candidacy.retry = setTimeout(() => void this.#read(candidacy), this.#backoff.next()).unref()
    } finally {
      candidacy.reading = false
    }
  }

  #observe(candidacy: Candidacy, kvs: IKeyValue[]): void {
    const mine = kvs.find((kv) => kv.key.toString() === candidacy.key)
    const first = kvs[0]
    if (mine === undefined || first === undefined) {
      // Our key is gone: the lease ran out on etcd (or someone deleted the key).
      this.#expired(candidacy, new Error("The candidate's key is gone"))
      return
    }
    const state = this.#state
    if (first === mine) {
      // A read that took long may show a lease that ran out meanwhile: only lead while the
      // deadline proves it alive.
      if (state.role === 'leader' || !candidacy.session.alive) return
      const leadership = new LeadershipState(BigInt(mine.create_revision), this.#options.value, candidacy.session)
      this.#lastValue = leadership.value
      this.#enter({ role: 'leader', leadership })
      return
    }
    const leader: LeaderInfo = { value: first.value.toString(), token: BigInt(first.create_revision) }
    this.#lastValue = leader.value
    if (state.role === 'leader') {
      // Keys are created with ever-growing revisions, so a key older than ours cannot appear;
      // should it anyway, this candidate must not act as leader.
      this.#expired(candidacy, new Error('Another candidate holds an older key'))
      return
    }
    if (state.role === 'follower' && state.leader.token === leader.token && state.leader.value === leader.value) return
    this.#enter({ role: 'follower', leader })
  }

  /**
   * The candidacy's lease ran out (on our clock, or etcd says so) or its key is gone. A leader
   * loses its leadership; everyone campaigns again with a new lease: a leadership never
   * resumes, so each has its own token.
   */
  #expired(candidacy: Candidacy, cause: unknown): void {
    if (this.#candidacy !== candidacy) return
    this.#drop()
    this.#abandon(candidacy.session)
    const lost =
      this.#state.role === 'leader'
        ? leaseLost('The lease could not be renewed before its deadline: stop acting as leader', cause)
        : undefined
    this.#watch.lockHeld(this.#lastValue)
    this.#enter({ role: 'electing' }, lost)
    if (this.#state.role === 'electing') void this.#campaign()
  }

  /** Forget the current candidacy: stop its lease's keep-alives, its watcher and its retries. */
  #drop(): Candidacy | undefined {
    const candidacy = this.#candidacy
    if (candidacy === undefined) return undefined
    this.#candidacy = undefined
    candidacy.session.end()
    clearTimeout(candidacy.retry)
    void candidacy.watcher?.cancel().catch(ignore)
    return candidacy
  }

  /**
   * Revoke a lease this candidate no longer uses, in the background. When etcd cannot be told
   * now, try again after the next successful grant: a lease that etcd did not see run out may
   * be alive again after etcd restarts (etcd renews every lease when it starts), and its key
   * would keep everyone waiting for one more TTL.
   */
  #abandon(session: LeaseSession): void {
    this.#orphans.delete(session)
    session.revoke(this.#requestTimeout()).catch(() => {
      if (this.#orphans.size < MAX_ORPHANS && this.role !== 'closed') this.#orphans.add(session)
    })
  }

  async #revoke(candidacy: Candidacy): Promise<void> {
    try {
      await candidacy.session.revoke(this.#requestTimeout())
    } catch (err) {
      this.#report(electionFault('Failed to revoke the lease', 'release', err))
    }
  }

  /** Ms a request to etcd may take: half the TTL, so that a slow one still leaves time to retry. */
  #requestTimeout(): number {
    return (this.#options.ttl * 1000) / 2
  }

  /** Emit `'error'` only when someone listens: an election fault must never crash the process. */
  #report(err: ElectionFault): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }
}

/** A {@link Leadership} and the means to end it. @internal */
class LeadershipState implements Leadership {
  readonly token: bigint
  readonly value: string
  readonly #session: LeaseSession
  readonly #controller = new AbortController()

  constructor(token: bigint, value: string, session: LeaseSession) {
    this.token = token
    this.value = value
    this.#session = session
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  get valid(): boolean {
    return !this.#controller.signal.aborted && this.#session.alive
  }

  get deadline(): number {
    return this.#session.deadline
  }

  end(reason: unknown): void {
    this.#controller.abort(reason)
  }
}

/** Leases kept for a later revoke; beyond this, they are left to run out by themselves. */
const MAX_ORPHANS = 16

function abortError(): Error {
  return new DOMException('The leadership ended', 'AbortError')
}

function ignore(): void {}
