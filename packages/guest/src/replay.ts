import { type LocalStore, type MaintenanceTarget, maintenance, type Sequencer, type WriteOp } from '@rave-level/store'
import type { Request, Results } from './requests.js'
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
): Promise<Results[keyof Results]> {
  const { store, sequencer } = local
  const op = req.op
  // A read from a snapshot taken on a host: it is gone with that host.
  const refusal = req.snap?.refusal(home)
  if (refusal != null) throw refusal
  switch (op.kind) {
    case 'snapshot': {
      const snap = op.snapshot
      if (snap.home === null && !snap.closed) snap.bindLocal(home, takeLocal(local))
      return undefined
    }
    case 'snapshotClose':
    case 'watchClose':
      return undefined
    case 'watch':
      return subscribeLocal(local, op.watch, home)
    case 'call':
      return sequencer.read(() => maintenance(store.db as unknown as MaintenanceTarget, op.call))
    case 'put': {
      const put: WriteOp = { type: 'put', key: op.key, value: op.value, keyEncoding: 'buffer', valueEncoding: 'buffer' }
      return sequencer.write([put], op.sync ? SYNC : undefined)
    }
    case 'del': {
      const del: WriteOp = { type: 'del', key: op.key, keyEncoding: 'buffer' }
      return sequencer.write([del], op.sync ? SYNC : undefined)
    }
    case 'batch':
      return sequencer.write(op.ops, op.sync ? SYNC : undefined)
    case 'get':
      return sequencer.read(async () =>
        store.get(op.key, await withSnapshot(op.snap, { keyEncoding: 'buffer', valueEncoding: op.format }))
      )
    case 'getMany':
      return sequencer.read(async () =>
        store.getMany(op.keys, await withSnapshot(op.snap, { keyEncoding: 'buffer', valueEncoding: op.format }))
      )
    case 'has':
      return sequencer.read(async () => store.has(op.key, await withSnapshot(op.snap, BUFFER_KEY)))
    case 'hasMany':
      return sequencer.read(async () => store.hasMany(op.keys, await withSnapshot(op.snap, BUFFER_KEY)))
    case 'clear':
    case 'clearKeys':
      // A clearKeys whose keys were not read yet: locally a clear runs exactly once.
      return sequencer.exclusive(async () =>
        store.clear(await withSnapshot(op.snap, { ...op.range, keyEncoding: 'buffer' }))
      )
  }
}

/** `options` with the local snapshot `snap` (a read's), if any. */
async function withSnapshot<T extends object>(snap: GuestSnapshot | undefined, options: T): Promise<T> {
  return snap === undefined ? options : { ...options, snapshot: await snap.local() }
}
