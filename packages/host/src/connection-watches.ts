import { TOO_MANY_WATCHES, type WatchMessage } from '@rave-level/protocol'
import type { Sequencer } from '@rave-level/store'
import type { Admission } from './admission.js'
import type { ConnectionSettings } from './connection-settings.js'
import { HostWatch, type WatchOwner } from './host-watch.js'
import type { Replies } from './replies.js'

/** What {@link ConnectionWatches} needs of its connection, beyond what each watch needs. */
export interface WatchesOwner extends WatchOwner {
  /** Settle request `id`, admitted as `n` operations of `bytes`: reply (unless gone) and release its admission. */
  done(id: number, err: unknown, value: Uint8Array | undefined, n: number, bytes: number): void
}

/**
 * The watches of one guest connection: registering each in the connection's issue order (as a
 * subscription to the shared `LocalStore`), bounding how many one guest has (`maxWatches`),
 * resuming them when the guest reads again, and closing them. The {@link Connection} decodes
 * the messages and hands them here; filtering and queueing changes is {@link HostWatch}'s.
 */
export class ConnectionWatches {
  readonly #owner: WatchesOwner
  readonly #settings: ConnectionSettings
  readonly #sequencer: Sequencer
  readonly #admission: Admission
  readonly #replies: Replies
  readonly #watches = new Map<number, HostWatch>()

  constructor(
    owner: WatchesOwner,
    settings: ConnectionSettings,
    sequencer: Sequencer,
    admission: Admission,
    replies: Replies
  ) {
    this.#owner = owner
    this.#settings = settings
    this.#sequencer = sequencer
    this.#admission = admission
    this.#replies = replies
  }

  /**
   * Start a watch, in this connection's issue order: it hears every commit from the moment
   * the store registers it, which is after every write this guest sent before it and before
   * every write it sends after it. The `Callback` goes first, then its changes.
   */
  open(message: WatchMessage, bytes: number): void {
    const { id } = message
    const old = this.#watches.get(message.watch)
    if (old !== undefined) this.#close(old)
    if (this.#watches.size >= this.#settings.maxWatches) {
      this.#replies.callback(id, TOO_MANY_WATCHES)
      return
    }
    const watch = new HostWatch(this.#owner, message, this.#settings.maxWatchQueue)
    this.#watches.set(watch.id, watch)
    this.#settings.stats.watches++
    this.#admission.begin(1, bytes)
    this.#sequencer
      .exclusive(() => this.#settings.store.subscribe(watch.listener))
      .then(
        (stop) => {
          this.#owner.done(id, undefined, undefined, 1, bytes)
          if (watch.closed) stop()
          else watch.start(stop)
        },
        (err) => {
          this.#owner.done(id, err, undefined, 1, bytes)
          this.#close(watch)
        }
      )
  }

  /** End the watch numbered `watch`, if there is one, and answer request `id`. */
  close(id: number, watch: number): void {
    const it = this.#watches.get(watch)
    if (it !== undefined) this.#close(it)
    this.#replies.callback(id, undefined)
  }

  /** The guest reads again: let each watch send what it queued. */
  drain(): void {
    for (const watch of this.#watches.values()) watch.drain()
  }

  /** Close every watch (the connection is gone). */
  closeAll(): void {
    for (const watch of this.#watches.values()) this.#close(watch)
  }

  #close(watch: HostWatch): void {
    if (this.#watches.get(watch.id) !== watch) return
    this.#watches.delete(watch.id)
    this.#settings.stats.watches--
    watch.close()
  }
}
