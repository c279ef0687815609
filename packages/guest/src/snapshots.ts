import type { HostLink } from './host-link.js'
import type { Forwarded } from './link-state.js'
import { takeLocal } from './replay.js'
import type { Operation } from './requests.js'
import { GuestSnapshot } from './snapshot.js'

/**
 * @packageDocumentation
 * The explicit snapshots of one guest, on behalf of its {@link Dispatcher}: numbering them,
 * taking each in issue order where operations go, and releasing it there. What a snapshot is,
 * and where it lives, is {@link GuestSnapshot}'s.
 */

/** What {@link Snapshots} needs of its dispatcher. */
export interface SnapshotLinks {
  /** The forwarding operations go to, while forwarded. */
  readonly forwarded: Forwarded | null
  /** The attached host's link, while attached. */
  readonly host: HostLink | null
  /** An operation for where operations go now. */
  request(op: Operation): Promise<unknown>
}

/** Takes and releases one guest's explicit snapshots. */
export class Snapshots {
  readonly #links: SnapshotLinks
  #count = 0

  constructor(links: SnapshotLinks) {
    this.#links = links
  }

  /**
   * Take an explicit snapshot, in issue order, where operations go now: on the database the
   * guest forwards to (its own snapshot), or on the host (a `Snapshot` request, sent on the next
   * connection if there is none). See {@link GuestSnapshot}.
   */
  take(options: object): GuestSnapshot {
    const snap = new GuestSnapshot(options, ++this.#count, (s) => this.#close(s))
    const local = this.#links.forwarded
    if (local !== null) snap.bindLocal(local, takeLocal(local))
    else this.#links.request({ kind: 'snapshot', snapshot: snap }).catch((err: Error) => snap.fail(err))
    return snap
  }

  /** Release `snap` where it lives, if that is where operations go now (else it is gone already). */
  async #close(snap: GuestSnapshot): Promise<void> {
    const local = this.#links.forwarded
    if (snap.home === null || snap.home !== (local ?? this.#links.host)) return
    if (local !== null) await (await snap.local()).close()
    else await this.#links.request({ kind: 'snapshotClose', snapshot: snap })
  }
}
