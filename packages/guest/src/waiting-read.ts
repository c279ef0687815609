/** Who hears whether a read waits for a host (the dispatcher, for its watchdog). */
export interface ReadWaiter {
  /** A read started (+1) or stopped (-1) waiting for a host. */
  readWaiting(delta: 1 | -1): void
}

/** One read of the caller that waits for entries. */
interface Waiter {
  size: number
  /** Items already taken for this read (they count as yielded). */
  items: unknown[]
  resolve: (items: unknown[]) => void
  reject: (err: Error) => void
  time: number
  /** It counts as waiting for a host (see {@link ReadWaiter}). */
  remote: boolean
}

/**
 * The caller's read that a cursor keeps waiting (there is at most one: abstract-level does not
 * let a caller read again before a read settled). It owns that read's promise, what was already
 * taken for it, since when it waits, and whether it counts as waiting for a host: the
 * {@link ReadWaiter} hears +1 when such a read starts (or moves to a host) and -1 when it
 * settles (or moves off the host), so that the guest's watchdog knows whether anything waits
 * for the host.
 */
export class WaitingRead {
  readonly #owner: ReadWaiter
  #waiter: Waiter | null = null

  constructor(owner: ReadWaiter) {
    this.#owner = owner
  }

  /** The waiting read: how many items it wants and those taken for it; null if none waits. */
  get current(): { readonly size: number; readonly items: unknown[] } | null {
    return this.#waiter
  }

  /** When the waiting read started waiting (epoch ms), or -1 if none is waiting. */
  get since(): number {
    return this.#waiter === null ? -1 : this.#waiter.time
  }

  /** Wait for `size` items; `items` holds what was already taken for this read. */
  wait(size: number, items: unknown[], remote: boolean): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve, reject) => {
      this.#waiter = { size, items, resolve, reject, time: Date.now(), remote }
      if (remote) this.#owner.readWaiting(1)
    })
  }

  /** Resolve the waiting read with `result`, or reject it with an error; nothing if none waits. */
  settle(result: unknown[] | Error): void {
    const waiter = this.#waiter
    if (waiter === null) return
    this.#waiter = null
    if (waiter.remote) this.#owner.readWaiting(-1)
    if (result instanceof Error) waiter.reject(result)
    else waiter.resolve(result)
  }

  /** The waiting read continues on a new source; it waits for a host only if `remote`. */
  move(remote: boolean): void {
    const waiter = this.#waiter
    if (waiter === null || waiter.remote === remote) return
    waiter.remote = remote
    this.#owner.readWaiting(remote ? 1 : -1)
  }

  /**
   * Fail the waiting read, if any. A read that already took some items returns them instead,
   * so that nothing is skipped. Returns true if it rejected.
   */
  abort(err: Error): boolean {
    const waiter = this.#waiter
    if (waiter === null) return false
    const rejected = waiter.items.length === 0
    this.settle(rejected ? err : waiter.items)
    return rejected
  }
}
