import { encodeOutput, type IteratorMessage, Output, TOO_MANY_ITERATORS } from '@rave-level/protocol'
import type { Sequencer } from '@rave-level/store'
import type { Admission } from './admission.js'
import type { ConnectionSettings } from './connection-settings.js'
import { HostIterator, type IteratorOwner } from './host-iterator.js'
import type { Snapshots } from './snapshots.js'

/**
 * The iterators of one guest connection: opening each in the connection's issue order (so it
 * sees exactly the writes issued before it), bounding how many one guest has open
 * (`maxIterators`), routing acknowledgements and seeks by id, and closing them. The
 * {@link Connection} decodes the messages and hands them here; the reading itself is
 * {@link HostIterator}'s.
 */
export class ConnectionIterators {
  readonly #owner: IteratorOwner
  readonly #settings: ConnectionSettings
  readonly #sequencer: Sequencer
  readonly #admission: Admission
  readonly #snapshots: Snapshots
  readonly #iterators = new Map<number, HostIterator>()

  constructor(
    owner: IteratorOwner,
    settings: ConnectionSettings,
    sequencer: Sequencer,
    admission: Admission,
    snapshots: Snapshots
  ) {
    this.#owner = owner
    this.#settings = settings
    this.#sequencer = sequencer
    this.#admission = admission
    this.#snapshots = snapshots
  }

  /** How many are open. */
  get size(): number {
    return this.#iterators.size
  }

  open(message: IteratorMessage): void {
    const { id } = message
    // A duplicate id is ignored, as many-level 2 does; acks and seeks for unknown ids likewise
    // (they legitimately race with a close).
    if (this.#iterators.has(id)) return
    if (this.#iterators.size >= this.#settings.maxIterators) {
      this.#owner.send(encodeOutput(Output.iteratorError, { id, seq: message.seq, error: TOO_MANY_ITERATORS }))
      return
    }
    const it = new HostIterator(this.#owner, message)
    this.#iterators.set(id, it)
    this.#settings.stats.iterators++
    this.#admission.begin(1, 0)
    this.#sequencer
      .read(() => this.#create(it, message.snapshot))
      .then(
        () => this.#admission.end(1, 0),
        (err) => {
          it.fail(err)
          this.#admission.end(1, 0)
        }
      )
  }

  #create(it: HostIterator, snapshot: number | undefined): Promise<void> {
    it.open(this.#snapshots.get(snapshot))
    return Promise.resolve()
  }

  ack(id: number, ...args: Parameters<HostIterator['ack']>): void {
    this.#iterators.get(id)?.ack(...args)
  }

  seek(id: number, ...args: Parameters<HostIterator['seek']>): void {
    this.#iterators.get(id)?.seek(...args)
  }

  close(id: number): void {
    const it = this.#iterators.get(id)
    if (it !== undefined) this.#close(it)
  }

  /** Close every iterator (the connection is gone). */
  closeAll(): void {
    for (const it of this.#iterators.values()) this.#close(it)
  }

  #close(it: HostIterator): void {
    this.#iterators.delete(it.id)
    this.#settings.stats.iterators--
    it.close()
  }
}
