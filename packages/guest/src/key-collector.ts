import { encodeInput, Input } from '@rave-level/protocol'
import type { Route } from './in-flight.js'
import type { Request } from './requests.js'

/** The connection a {@link KeyCollector} reads on (a host link). */
export interface CollectorLink {
  queue(frame: Buffer): void
  route(id: number, route: Route | null): void
}

/** What a {@link KeyCollector} reports to (the dispatcher). */
export interface CollectorOwner {
  /** Every key of the range (up to its limit) was read. */
  collected(req: Request, keys: Buffer[]): void
  /** The host could not read them. */
  failed(req: Request, code: string, message: string | undefined): void
}

/**
 * The first phase of a `clear()` with a `limit`: reads, through a host iterator (keys only),
 * the keys that the clear will delete. Acknowledges each message as it arrives, so the host
 * streams at its pace; closes the host iterator at the end. Nothing is cached between
 * connections: on a new one the phase starts over, which is safe because nothing was deleted.
 */
export class KeyCollector implements Route {
  readonly #link: CollectorLink
  readonly #owner: CollectorOwner
  readonly #req: Request
  readonly #id: number
  /** The limited clear whose keys this reads. */
  get request(): Request {
    return this.#req
  }
  readonly #keys: Buffer[] = []
  #consumed = 0
  #done = false

  constructor(link: CollectorLink, owner: CollectorOwner, req: Request, id: number) {
    this.#link = link
    this.#owner = owner
    this.#req = req
    this.#id = id
  }

  onData(seq: number, data: Uint8Array[]): void {
    if (seq !== 0 || this.#done) return
    // Copies: the data are views of a received chunk, and the keys outlive it in a retry.
    for (const key of data) this.#keys.push(Buffer.copyBytesFrom(key))
    this.#consumed += data.length
    this.#link.queue(encodeInput(Input.iteratorAck, { id: this.#id, seq: 0, consumed: this.#consumed }))
  }

  onEnd(seq: number): void {
    if (seq !== 0 || this.#finish()) return
    this.#owner.collected(this.#req, this.#keys)
  }

  onError(seq: number, code: string, message: string | undefined): void {
    if (seq !== 0 || this.#finish()) return
    this.#owner.failed(this.#req, code, message)
  }

  /** Returns true if it was finished already. */
  #finish(): boolean {
    if (this.#done) return true
    this.#done = true
    this.#link.route(this.#id, null)
    this.#link.queue(encodeInput(Input.iteratorClose, { id: this.#id }))
    return false
  }
}
