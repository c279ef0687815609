import { protocolError, tooLargeToReceive } from './errors.js'
import type { LinkOwner } from './host-link.js'
import { type Answer, type ManyValue, Request } from './requests.js'

/**
 * @packageDocumentation
 * The requests one {@link HostLink} sent and the host has not answered yet, by wire id: settling
 * each with its answer (a `GetMany` answer may arrive in parts), or refusing it when the answer
 * was too large to receive. The link keeps the rest of the connection (stream, outbox, routes).
 */

/** Requests in flight on one connection, by wire id. */
export class InFlight {
  readonly #owner: Pick<LinkOwner, 'settle' | 'refuse'>
  /** Wire id → what a frame carried: one request, or a run of them. */
  readonly #wire = new Map<number, Request | Request[]>()
  /** `GetMany` answers arriving in parts. */
  readonly #parts = new Map<number, { values: ManyValue[]; oversized: Set<number> }>()

  constructor(owner: Pick<LinkOwner, 'settle' | 'refuse'>) {
    this.#owner = owner
  }

  /** Whether wire id `id` is taken by a request in flight. */
  has(id: number): boolean {
    return this.#wire.has(id) || this.#parts.has(id)
  }

  /** What left in the frame with wire id `id`, if it is still in flight (for the cache's hook). */
  peek(id: number): Request | Request[] | undefined {
    return this.#wire.get(id)
  }

  /** `sent` left in a frame with wire id `id`. */
  set(id: number, sent: Request | Request[]): void {
    this.#wire.set(id, sent)
  }

  /** Every request in flight. */
  *requests(): Iterable<Request> {
    for (const sent of this.#wire.values()) {
      if (sent instanceof Request) yield sent
      else yield* sent
    }
  }

  /** The host answered wire id `id`: settle what it carried. */
  answer(id: number, answer: Answer): void {
    const sent = this.#wire.get(id)
    if (sent === undefined) return
    this.#wire.delete(id)
    this.#owner.settle(sent, answer)
  }

  /** Collect a `GetMany` answer that arrives in parts; settle once it covers every key. */
  part(id: number, start: number, values: ManyValue[], oversized: number[]): void {
    const sent = this.#wire.get(id)
    if (sent === undefined) return
    let parts = this.#parts.get(id)
    if (parts === undefined) {
      parts = { values: [], oversized: new Set() }
      this.#parts.set(id, parts)
    }
    if (start !== parts.values.length) throw protocolError('GetManyPart out of order')
    for (const i of oversized) parts.oversized.add(start + i)
    for (const v of values) parts.values.push(v)
    const expected = Array.isArray(sent) ? sent.length : (sent.a as unknown[]).length
    if (parts.values.length < expected) return
    this.#parts.delete(id)
    this.answer(id, parts)
  }

  /** The answer to wire id `id` was too large to receive: refuse what it answered. */
  tooLarge(id: number): void {
    const sent = this.#wire.get(id)
    if (sent === undefined) return
    this.#wire.delete(id)
    this.#parts.delete(id)
    const err = tooLargeToReceive()
    for (const req of Array.isArray(sent) ? sent : [sent]) this.#owner.refuse(req, err)
  }
}
