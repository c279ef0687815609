import type { CursorPort } from './cursor.js'
import type { IssueOrder } from './issue-order.js'
import { homeOf, type Link } from './link-state.js'

/**
 * @packageDocumentation
 * The {@link CursorPort} of a {@link Dispatcher}: how its iterators see the current link (to
 * send on it, read from the local database, or wait), and tell it when they wait or close.
 */

/** What {@link cursorPort} reads of its dispatcher. */
export interface PortState {
  readonly retry: boolean
  /** The dispatcher's link now. */
  link(): Link
  /** True when the guest is not open (closing or closed). */
  closing(): boolean
  readonly work: IssueOrder
  /** An iterator read started (+1) or stopped (-1) waiting. */
  waiting(delta: 1 | -1): void
}

/** The port through which cursors reach the current link of `d`. */
export function cursorPort(d: PortState): CursorPort {
  const host = () => {
    const link = d.link()
    return link.kind === 'attached' ? link.host : null
  }
  return {
    retry: d.retry,
    link: () => d.link().kind,
    lost: () => {
      const link = d.link()
      return link.kind === 'detached' && link.lost && !d.retry
    },
    closing: () => d.closing(),
    send: (frame) => host()?.queue(frame),
    allocId: () => host()?.allocId() ?? 0,
    route: (id, route) => host()?.route(id, route),
    local: () => {
      const link = d.link()
      return link.kind === 'forwarded' ? { db: link.store.db, sequencer: link.sequencer } : null
    },
    held: (order) => d.work.pending.held(order),
    home: () => homeOf(d.link()),
    features: () => {
      const h = host()
      return h === null || h.peer === 'unknown' ? null : h.features
    },
    waiting: (delta) => d.waiting(delta),
    forget: (cursor) => {
      d.work.cursors.delete(cursor)
    }
  }
}
