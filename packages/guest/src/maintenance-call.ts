import { type MaintenanceCall, type MaintenanceTarget, maintenance } from '@rave-level/store'
import type { Dispatcher } from './dispatcher.js'

/**
 * @packageDocumentation
 * Where a classic-level maintenance call (`approximateSize`, `compactRange`, `getProperty`) of a
 * {@link GuestLevel} runs: on the database this guest forwards to, in issue order through its
 * sequencer, or on the host, as a `Call` request. The methods themselves (argument checks and
 * key encoding) stay on `GuestLevel`.
 */

/** Run `call` where operations go now, in issue order. */
export function callMaintenance(d: Dispatcher, call: MaintenanceCall): Promise<Uint8Array | undefined> {
  const local = d.forwarded
  if (local !== null)
    return local.sequencer.read(() => maintenance(local.store.db as unknown as MaintenanceTarget, call))
  return d.request({ kind: 'call', call })
}
