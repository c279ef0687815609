import { tooLargeToReceive } from './errors.js'
import { type Answer, Request } from './requests.js'

const DONE: Answer = Object.freeze({})

/** What {@link Pending} tells its owner. */
export interface PendingEvents {
  /** Operations issued in `(from, to]` were held back and may go now. */
  released(from: number, to: number): void
}

/**
 * The operations waiting for an answer, in issue order, and what may be sent of them.
 *
 * A `clear()` with a limit is not idempotent: retried after a failover it would delete up to
 * `limit` more entries. So it runs in two phases (`clearKeys`): read the keys it will delete,
 * then delete exactly those (a `batch`, which a retry can repeat harmlessly). Everything issued
 * after it is held back until the first phase is done (`hold`), so that nothing later
 * overtakes it.
 */
export class Pending {
  readonly #events: PendingEvents
  /** By `order`; a Map iterates in insertion order, which is issue order. */
  #map = new Map<number, Request>()
  /** Order of the earliest limited clear still reading its keys, else Infinity. */
  #hold = Number.POSITIVE_INFINITY
  /** The highest order added (an upper bound of those in the map). */
  #last = -1

  constructor(events: PendingEvents) {
    this.#events = events
  }

  get size(): number {
    return this.#map.size
  }

  /** Whether something issued at `order` must wait for an earlier limited clear. */
  held(order: number): boolean {
    return order > this.#hold
  }

  /**
   * Register `req`; returns whether it may be sent now. Normally `req` was just issued; a
   * watch registered again after a failover keeps its older place in issue order, so the map
   * is rebuilt in order then (rare).
   */
  add(req: Request): boolean {
    if (req.order < this.#last) {
      this.#map = new Map([...this.#map, [req.order, req] as const].sort((x, y) => x[0] - y[0]))
    } else {
      this.#map.set(req.order, req)
      this.#last = req.order
    }
    const free = req.order <= this.#hold
    if (req.op.kind === 'clearKeys' && req.order < this.#hold) this.#hold = req.order
    return free
  }

  has(req: Request): boolean {
    return this.#map.get(req.order) === req
  }

  /**
   * Remove `req` (it settles). Returns false if it was not pending (a timeout or `close()`
   * settled it first); the caller then must not settle it again.
   */
  delete(req: Request): boolean {
    return this.#map.delete(req.order)
  }

  /** In issue order. */
  values(): IterableIterator<Request> {
    return this.#map.values()
  }

  /** Remove and return every request, in issue order. */
  drain(): Request[] {
    const all = [...this.#map.values()]
    this.#map = new Map()
    this.#hold = Number.POSITIVE_INFINITY
    return all
  }

  /** Reject `req` with `err`, unless it settled already. */
  refuse(req: Request, err: Error): void {
    if (!this.#map.delete(req.order)) return
    req.reject(err)
    this.#release(req)
  }

  /**
   * Settle what a frame carried with a host's answer: one request, or a run of them, which
   * shares the outcome of its frame (each read gets its value of the `GetMany`). Only what is
   * still pending is settled (a timeout may have settled it first).
   */
  settle(sent: Request | Request[], answer: Answer): void {
    if (sent instanceof Request) {
      if (!this.#map.delete(sent.order)) return
      sent.answer(answer)
      this.#release(sent)
      return
    }
    const { error, message, values, oversized } = answer
    for (let i = 0; i < sent.length; i++) {
      const req = sent[i] as Request
      if (oversized?.has(i)) this.refuse(req, tooLargeToReceive())
      else if (this.#map.delete(req.order))
        req.answer(error === undefined ? { value: values?.[i]?.value } : { error, message })
    }
  }

  /**
   * A limited clear read its keys: it becomes a `batch` of deletes of exactly those, to be sent
   * with `send` (or, with no keys, it is done), and what it held back may go.
   */
  collected(req: Request, keys: Buffer[], send: (req: Request) => void): void {
    if (!this.has(req) || req.op.kind !== 'clearKeys') return
    req.op = { kind: 'batch', ops: keys.map((key) => ({ type: 'del', key, keyEncoding: 'buffer' })), sync: false }
    if (keys.length > 0) send(req)
    else this.settle(req, DONE)
    this.#release(req)
  }

  /** Reject what was issued at `cutoff` or before, counting from `since`; returns how many. */
  expire(error: Error, cutoff: number, since: number): number {
    let n = 0
    for (const req of [...this.#map.values()]) {
      if (Math.max(req.time, since) > cutoff) continue
      this.refuse(req, error)
      n++
    }
    return n
  }

  /**
   * If `req` held later operations back, move the hold to the next limited clear still reading
   * keys, and tell the owner which orders may go now.
   */
  #release(req: Request): void {
    if (req.order !== this.#hold) return
    const from = this.#hold
    let next = Number.POSITIVE_INFINITY
    for (const other of this.#map.values()) {
      if (other.order > from && other.op.kind === 'clearKeys') {
        next = other.order
        break
      }
    }
    this.#hold = next
    this.#events.released(from, next)
  }
}
