import { protocolError, tooLargeToReceive } from './errors.js'
import { type Answer, type ManyValue, Request } from './requests.js'

/**
 * @packageDocumentation
 * What one {@link HostLink} awaits from its host, by wire id: the answers to the requests it
 * sent (settling each with its answer, a `GetMany` answer may arrive in parts, or refusing it
 * when the answer was too large to receive), and the messages of the host iterators it opened
 * (routed to a cursor's source or a key collector). The link keeps the rest of the connection
 * (stream, outbox, handshake).
 */

/** Where iterator messages of one host iterator id go: a cursor's source, or a key collector. */
export interface Route {
  /** The request whose keys it reads, if any (a limited clear's key collector). */
  readonly request?: Request | undefined
  onData(seq: number, data: Uint8Array[]): void
  onEnd(seq: number): void
  onError(seq: number, code: string, message: string | undefined): void
}

/** What settles the requests of an {@link InFlight} (the dispatcher). */
export interface Settler {
  /** Settle requests with a host's answer (only those still pending). */
  settle(sent: Request | Request[], answer: Answer): void
  /** A request could not be sent, or its answer received: reject it unless it settled already. */
  refuse(req: Request, err: Error): void
}

/** Requests and host iterators in flight on one connection, by wire id. */
export class InFlight {
  readonly #owner: Settler
  /** Wire id → what a frame carried: one request, or a run of them. */
  readonly #wire = new Map<number, Request | Request[]>()
  /** `GetMany` answers arriving in parts. */
  readonly #parts = new Map<number, { values: ManyValue[]; oversized: Set<number> }>()
  /** Host iterator id → where its messages go. */
  readonly #routes = new Map<number, Route>()

  constructor(owner: Settler) {
    this.#owner = owner
  }

  /** Whether wire id `id` is taken by a request or a host iterator in flight. */
  has(id: number): boolean {
    return this.#wire.has(id) || this.#parts.has(id) || this.#routes.has(id)
  }

  /** Host iterator `id`'s messages go to `route` from now on (`null`: nowhere, it is closed). */
  route(id: number, route: Route | null): void {
    if (route === null) this.#routes.delete(id)
    else this.#routes.set(id, route)
  }

  /** Where host iterator `id`'s messages go, if anywhere. */
  routeOf(id: number): Route | undefined {
    return this.#routes.get(id)
  }

  /** What left in the frame with wire id `id`, if it is still in flight (for the cache's hook). */
  peek(id: number): Request | Request[] | undefined {
    return this.#wire.get(id)
  }

  /** `sent` left in a frame with wire id `id`. */
  set(id: number, sent: Request | Request[]): void {
    this.#wire.set(id, sent)
  }

  /** Every request in flight: sent and not answered, or still reading its keys (their outcome is unknown). */
  *requests(): Iterable<Request> {
    for (const sent of this.#wire.values()) {
      if (sent instanceof Request) yield sent
      else yield* sent
    }
    for (const route of this.#routes.values()) if (route.request !== undefined) yield route.request
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
    const expected = Array.isArray(sent) ? sent.length : 'keys' in sent.op ? sent.op.keys.length : 0
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
