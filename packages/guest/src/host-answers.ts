import type { WatchChangeAt } from '@rave-level/protocol'
import type { HostLink, LinkOwner, Route } from './host-link.js'
import { KeyCollector } from './key-collector.js'
import type { Pending } from './pending.js'
import type { Answer, Request } from './requests.js'
import type { WatchRegistry } from './watch-registry.js'

/**
 * @packageDocumentation
 * What an attached host's {@link HostLink} reports back to its {@link Dispatcher}: answers and
 * refusals of pending requests, the keys a limited clear collected, the host's introduction,
 * snapshots bound to the link, and the changes and gaps of its watches. Each lands in the
 * dispatcher's issue-order state ({@link Pending}, its cursors, its {@link WatchRegistry}).
 */

/** What {@link HostAnswers} needs of its dispatcher. */
export interface AnswerTarget {
  readonly pending: Pending
  readonly watches: WatchRegistry
  /** The attached host's link, while attached. */
  host(): HostLink | null
  /** Requests settled: if none is left, nothing may wait any more. */
  settled(): void
  /** The attached host introduced itself (pid if it said). */
  introduced(pid: number | undefined): void
  /** Let open iterators try again (something they waited for arrived). */
  resumeCursors(): void
}

/** The {@link LinkOwner} of a dispatcher's host links. */
export class HostAnswers implements LinkOwner {
  readonly #d: AnswerTarget

  constructor(target: AnswerTarget) {
    this.#d = target
  }

  refuse(req: Request, err: Error): void {
    this.#d.pending.refuse(req, err)
    this.#d.settled()
  }

  settle(sent: Request | Request[], answer: Answer): void {
    this.#d.pending.settle(sent, answer)
    this.#d.settled()
  }

  settled(req: Request): boolean {
    return !this.#d.pending.has(req)
  }

  collect(req: Request, id: number): Route {
    const d = this.#d
    const owner = {
      send: (frame: Buffer) => d.host()?.queue(frame),
      route: (rid: number, route: Route | null) => d.host()?.route(rid, route),
      collected: (r: Request, keys: Buffer[]) => d.pending.collected(r, keys, (batch) => d.host()?.queue(batch)),
      failed: (r: Request, error: string, message: string | undefined) => this.settle(r, { error, message })
    }
    return new KeyCollector(owner, req, id)
  }

  introduced(link: HostLink): void {
    if (this.#d.host() !== link) return
    this.#d.introduced(link.pid)
    // Iterators on a snapshot waited to know whether the host has snapshots.
    this.#d.resumeCursors()
  }

  bound(): void {
    // An iterator on a snapshot waits until the snapshot was taken where it reads.
    this.#d.resumeCursors()
  }

  watchChanges(link: HostLink, id: number, changes: WatchChangeAt[]): void {
    this.#d.watches.changes(link, id, changes)
  }

  watchGap(link: HostLink, id: number): void {
    this.#d.watches.gap(link, id)
  }
}
