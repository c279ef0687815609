import type { WatchChangeAt } from '@rave-level/protocol'
import { connectionLost } from './errors.js'
import type { HostLink } from './host-link.js'
import type { Forwarded } from './link-state.js'
import type { Pending } from './pending.js'
import { subscribeLocal } from './replay.js'
import { type Operation, Request } from './requests.js'
import type { GuestWatch } from './watch.js'

/**
 * @packageDocumentation
 * The watches of one guest, on behalf of its {@link Dispatcher}: registering each in issue order
 * where operations go, routing what a host sends to it, registering it again at its original
 * place when its link goes away, and releasing it where it is registered.
 */

/** What a {@link WatchRegistry} needs of its dispatcher. */
export interface WatchLinks {
  readonly retry: boolean
  /** The forwarding operations go to, while forwarded. */
  readonly forwarded: Forwarded | null
  /** The attached host's link, while attached. */
  readonly host: HostLink | null
  /** True when a link was lost and, without retry, nothing may wait for the next one. */
  readonly refusing: boolean
  /** The next position in issue order. */
  nextOrder(): number
  /** Keep `req` pending in its place in issue order, and send it if attached. */
  enqueue(req: Request): void
  /** An operation for where operations go now. */
  request(op: Operation): Promise<unknown>
}

/**
 * Watches registered, or being registered, by one guest, by id. A watch is registered at one
 * place in issue order and keeps it: after its link goes away it yields a gap and is registered
 * again at that place (with retry), so that it is sent before what was issued after it; without
 * retry it fails with `LEVEL_CONNECTION_LOST`.
 */
export class WatchRegistry {
  readonly #links: WatchLinks
  readonly #pending: Pending
  readonly #watches = new Map<number, GuestWatch<any, any>>()
  #ids = 0

  constructor(links: WatchLinks, pending: Pending) {
    this.#links = links
    this.#pending = pending
  }

  /** A number for a new watch, unique for this guest. */
  nextId(): number {
    return ++this.#ids
  }

  /** Watches registered, or being registered, right now. */
  get size(): number {
    return this.#watches.size
  }

  /**
   * Start `w` in issue order where operations go now: a subscription to the database the guest
   * forwards to, or a `Watch` request for the host (sent on the next connection if there is
   * none). See {@link GuestWatch}.
   */
  add(w: GuestWatch<any, any>): void {
    this.#watches.set(w.id, w)
    const local = this.#links.forwarded
    if (local !== null) {
      w.order = this.#links.nextOrder()
      subscribeLocal(local, w, local).catch((err: Error) => this.#end(w, err))
    } else {
      this.#register(w, this.#links.nextOrder())
    }
  }

  /**
   * A `Watch` request for `w` at `order` (its first one, or again at its original place after
   * its link went away, so that it is sent before what was issued after it).
   */
  #register(w: GuestWatch<any, any>, order: number): void {
    if (this.#links.refusing) {
      this.#end(w, connectionLost())
      return
    }
    w.order = order
    w.registering = true
    const req = new Request(
      order,
      { kind: 'watch', watch: w },
      Date.now(),
      () => {
        w.registering = false
        w.registered()
      },
      (err: Error) => {
        w.registering = false
        this.#end(w, err)
      }
    )
    this.#links.enqueue(req)
  }

  #end(w: GuestWatch<any, any>, err: Error): void {
    this.#watches.delete(w.id)
    w.fail(err)
  }

  /** Release `w` where it is registered, if that is where operations go now (else it is gone there). */
  async release(w: GuestWatch<any, any>): Promise<void> {
    this.#watches.delete(w.id)
    const host = this.#links.host
    if (host !== null && w.home === host) await this.#links.request({ kind: 'watchClose', watch: w })
  }

  /** The watches registered at `home` lost it: each yields a gap, and is registered anew (with retry). */
  move(home: object): void {
    for (const w of this.#watches.values()) {
      if (w.home !== home) continue
      // Without retry the watch ends there (after what it received): no gap before the error.
      if (!this.#links.retry) {
        this.#end(w, connectionLost())
        continue
      }
      w.lost()
      if (!w.registering) this.#register(w, w.order)
    }
    // A release that waits for that home has nothing left to release.
    for (const req of [...this.#pending.values()]) {
      if (req.op.kind === 'watchClose' && req.op.watch.home === home) this.#pending.settle(req, {})
    }
  }

  /** Changes for watch `id` from `link`'s host. */
  changes(link: HostLink, id: number, changes: WatchChangeAt[]): void {
    const w = this.#watches.get(id)
    if (w !== undefined && w.home === link) w.remote(changes)
  }

  /** A gap for watch `id` from `link`'s host. */
  gap(link: HostLink, id: number): void {
    const w = this.#watches.get(id)
    if (w !== undefined && w.home === link) w.gap()
  }
}
