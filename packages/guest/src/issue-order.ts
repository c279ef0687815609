import type { GuestCursor } from './cursor.js'
import { connectionLost } from './errors.js'
import type { HostLink } from './host-link.js'
import type { Forwarded } from './link-state.js'
import { Pending, type PendingEvents } from './pending.js'
import { replay } from './replay.js'
import { Request } from './requests.js'

/**
 * @packageDocumentation
 * The work of one guest that outlives any one link, in issue order: operations waiting for an
 * answer ({@link Pending}) and open iterators, which share one sequence of positions. It moves
 * that work, in that order, onto whatever link comes next; the {@link Dispatcher} decides when.
 */

/** What {@link IssueOrder} reads of its dispatcher. */
export interface IssueLinks {
  /** The attached host's link, while attached (held-back work is sent there). */
  readonly host: HostLink | null
}

/** Waiting operations and open iterators of one guest, in issue order. */
export class IssueOrder implements PendingEvents {
  readonly pending: Pending = new Pending(this)
  /** Open iterators, in creation order. */
  readonly cursors = new Set<GuestCursor>()
  readonly #links: IssueLinks
  #order = 0
  #waitingReads = 0

  constructor(links: IssueLinks) {
    this.#links = links
  }

  /** The next position in issue order. */
  next(): number {
    return this.#order++
  }

  /** True when no operation or iterator read waits. */
  get idle(): boolean {
    return this.pending.size === 0 && this.#waitingReads === 0
  }

  /** An iterator read started (+1) or stopped (-1) waiting. */
  waiting(delta: 1 | -1): void {
    this.#waitingReads += delta
  }

  /** Waiting operations and open iterators, merged in issue order. */
  inOrder(): (Request | GuestCursor)[] {
    return inIssueOrder(this.pending.values(), this.cursors)
  }

  /** A new link to `host`: send what waits, in issue order, up to what a limited clear holds back. */
  attach(host: HostLink): void {
    for (const item of this.inOrder()) {
      if (this.pending.held(item.order)) break
      sendTo(host, item)
    }
  }

  /** Operations issued in `(from, to]` were held back by a limited clear: send them now, if attached. */
  released(from: number, to: number): void {
    const host = this.#links.host
    if (host === null) return
    for (const item of this.inOrder()) {
      if (item.order > from && item.order <= to) sendTo(host, item)
    }
  }

  /**
   * Forwarded to `link` from now on: apply `waiting` (what waited, in issue order) there, except
   * the requests in `sent`, whose outcome is unknown (they reject with `LEVEL_CONNECTION_LOST`).
   */
  static forward(link: Forwarded, waiting: (Request | GuestCursor)[], sent: Set<Request> | null): void {
    for (const item of waiting) {
      if (!(item instanceof Request)) item.forward()
      else if (sent?.has(item)) item.reject(connectionLost())
      else replay(link, item, link).then(item.resolve, item.reject)
    }
  }

  /** Let open iterators try again (something they waited for arrived). */
  resumeCursors(): void {
    for (const cursor of this.cursors) cursor.resume()
  }

  /** Reject what was issued (or started waiting) at `cutoff` or before, counting from `since`. */
  expire(error: Error, cutoff: number, since: number): number {
    let n = this.pending.expire(error, cutoff, since)
    for (const cursor of this.cursors) {
      const waiting = cursor.waitingSince
      if (waiting !== -1 && Math.max(waiting, since) <= cutoff && cursor.abort(error)) n++
    }
    return n
  }
}

/** Send a waiting request to `host`, or let an open iterator read there. */
function sendTo(host: HostLink, item: Request | GuestCursor): void {
  if (item instanceof Request) host.queue(item)
  else item.resume()
}

/** Requests and cursors (each in issue order), merged in issue order. */
function inIssueOrder(requests: Iterable<Request>, cursors: Iterable<GuestCursor>): (Request | GuestCursor)[] {
  const out: (Request | GuestCursor)[] = []
  const open = [...cursors]
  let c = 0
  for (const req of requests) {
    while (c < open.length && (open[c] as GuestCursor).order < req.order) out.push(open[c++] as GuestCursor)
    out.push(req)
  }
  while (c < open.length) out.push(open[c++] as GuestCursor)
  return out
}
