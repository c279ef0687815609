import { type LocalStore, type MaintenanceTarget, maintenance, type Sequencer } from '@rave-level/store'
import {
  BATCH,
  CALL,
  DEL,
  GET,
  GET_MANY,
  HAS,
  HAS_MANY,
  PUT,
  type Request,
  SNAPSHOT,
  SNAPSHOT_CLOSE,
  WATCH,
  WATCH_CLOSE
} from './requests.js'
import type { GuestSnapshot, LocalSnapshot } from './snapshot.js'
import type { GuestWatch } from './watch.js'

/** What a local database needs for snapshots (classic-level's `snapshot()`). */
interface Snapshotting {
  readonly status: string
  open(options: { passive: true }): Promise<void>
  snapshot(): LocalSnapshot
}

/** Take the local database's own snapshot, in issue order (once it is open). */
export function takeLocal(local: { store: LocalStore; sequencer: Sequencer }): Promise<LocalSnapshot> {
  const db = local.store.db as unknown as Snapshotting
  return local.sequencer.read(async () => {
    if (db.status === 'opening') await db.open({ passive: true })
    return db.snapshot()
  })
}

/**
 * Register `w` on the local database (`home`, a forwarding) in issue order: a subscription to
 * its store, which hears every commit from the moment the sequencer's earlier writes settled.
 * If `w` was closed or moved elsewhere meanwhile, the subscription ends at once.
 */
export async function subscribeLocal(
  local: { store: LocalStore; sequencer: Sequencer },
  w: GuestWatch<any, any>,
  home: object
): Promise<void> {
  if (w.closed) return
  w.bind(home)
  const stop = await local.sequencer.exclusive(() =>
    local.store.subscribe((changes) => {
      if (w.home === home) w.local(changes)
    })
  )
  if (w.home !== home || w.closed) stop()
  else w.registered(stop)
}

const BUFFER_KEY = Object.freeze({ keyEncoding: 'buffer' })
const SYNC = Object.freeze({ sync: true })

/**
 * Apply an operation made for a host (keys and values as bytes) to a local database instead,
 * in sequence: what was waiting when the guest started forwarding.
 */
export async function replay(
  local: { store: LocalStore; sequencer: Sequencer },
  req: Request,
  home: object
): Promise<any> {
  const { store, sequencer } = local
  const a = req.a
  const sync = req.sync ? SYNC : undefined
  // A read from a snapshot taken on a host: it is gone with that host.
  const refusal = req.snap?.refusal(home)
  if (refusal != null) throw refusal
  switch (req.kind) {
    case SNAPSHOT: {
      const snap = a as GuestSnapshot
      if (snap.home === null && !snap.closed) snap.bindLocal(home, takeLocal(local))
      return undefined
    }
    case SNAPSHOT_CLOSE:
    case WATCH_CLOSE:
      return undefined
    case WATCH:
      return subscribeLocal(local, a as GuestWatch<any, any>, home)
    case CALL:
      return sequencer.read(() => maintenance(store.db as unknown as MaintenanceTarget, a))
    case PUT:
      return sequencer.write(
        [{ type: 'put', key: a, value: req.b, keyEncoding: 'buffer', valueEncoding: 'buffer' } as any],
        sync
      )
    case DEL:
      return sequencer.write([{ type: 'del', key: a, keyEncoding: 'buffer' } as any], sync)
    case BATCH:
      return sequencer.write(a, sync)
    case GET:
      return sequencer.read(async () =>
        store.get(a, await withSnapshot(req, { keyEncoding: 'buffer', valueEncoding: req.b }))
      )
    case GET_MANY:
      return sequencer.read(async () =>
        store.getMany(a, await withSnapshot(req, { keyEncoding: 'buffer', valueEncoding: req.b }))
      )
    case HAS:
      return sequencer.read(async () => store.has(a, await withSnapshot(req, BUFFER_KEY)))
    case HAS_MANY:
      return sequencer.read(async () => store.hasMany(a, await withSnapshot(req, BUFFER_KEY)))
    default:
      // CLEAR, and CLEAR_KEYS whose keys were not read yet: locally a clear runs exactly once.
      return sequencer.exclusive(async () => store.clear(await withSnapshot(req, { ...a, keyEncoding: 'buffer' })))
  }
}

/** `options` with the local snapshot `req` reads from, if any. */
async function withSnapshot<T extends object>(req: Request, options: T): Promise<T> {
  return req.snap === undefined ? options : { ...options, snapshot: await req.snap.local() }
}
