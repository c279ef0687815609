import { AbstractSnapshot } from 'abstract-level'
import { connectionLost } from './errors.js'

/** A local database's own snapshot (classic-level's). */
export interface LocalSnapshot {
  close(): Promise<void>
}

/**
 * An explicit snapshot (`db.snapshot()`) of a guest. It lives where the guest's operations went
 * when it was taken, and only there:
 *
 * - on a host: taken there in issue order (a `Snapshot` request), known on that connection by
 *   `id`; it is bound to that connection when the request is sent;
 * - on the database the guest forwards to: that database's own snapshot, taken in issue order
 *   (so it holds every write issued before it);
 * - pending, while there is neither: it is taken on whichever comes next.
 *
 * It never moves: once the connection (or the forwarding) it is bound to ends, reads with it
 * reject with `LEVEL_CONNECTION_LOST`, also with `retry` (a read must never silently see another
 * snapshot). A failure to take it (a host without snapshots: `LEVEL_NOT_SUPPORTED`) is what reads
 * with it reject with.
 */
export class GuestSnapshot extends AbstractSnapshot {
  /** Its number on the wire (unique per guest). */
  readonly id: number
  /** Where it lives: a host link, or the forwarding it was taken on; `null` while pending. */
  #home: object | null = null
  #local: Promise<LocalSnapshot> | null = null
  #localValue: LocalSnapshot | undefined
  #failure: Error | null = null
  #closed = false
  readonly #close: (snapshot: GuestSnapshot) => Promise<void>

  /**
   * @param options abstract-level's snapshot options (`owner`).
   * @param close Releases it where it lives (the dispatcher's).
   */
  constructor(options: object, id: number, close: (snapshot: GuestSnapshot) => Promise<void>) {
    // (abstract-level's type declarations omit the options argument.)
    super(...([options] as unknown as []))
    this.id = id
    this.#close = close
  }

  /** Where it lives (`null` while pending). */
  get home(): object | null {
    return this.#home
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Taken (or being taken) on `home`, a host link. */
  bindRemote(home: object): void {
    this.#home = home
  }

  /** Taken on `home`, a forwarding, as `local` (which resolves once taken in sequence). */
  bindLocal(home: object, local: Promise<LocalSnapshot>): void {
    this.#home = home
    this.#local = local
    local.then(
      (value) => {
        this.#localValue = value
      },
      (err: Error) => this.fail(err)
    )
  }

  /** It could not be taken: reads with it reject with `err`. */
  fail(err: Error): void {
    this.#failure ??= err
  }

  /**
   * Why a read with it cannot be made where operations go now (`home`), or `null` if it can:
   * its failure, or `LEVEL_CONNECTION_LOST` when it lives elsewhere.
   */
  refusal(home: object | null): Error | null {
    if (this.#failure !== null) return this.#failure
    if (this.#home !== null && this.#home !== home) return lost()
    return null
  }

  /** The local snapshot, for reads on the database it was taken on. */
  local(): Promise<LocalSnapshot> {
    return this.#local ?? Promise.reject(lost())
  }

  /** The local snapshot if it is taken already (for `getSync()`). */
  localNow(): LocalSnapshot | undefined {
    return this.#localValue
  }

  async _close(): Promise<void> {
    this.#closed = true
    await this.#close(this)
  }
}

function lost(): Error {
  const err = connectionLost()
  err.message = 'The snapshot was lost with the leader (or the database) it was taken on'
  return err
}
