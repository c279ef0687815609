import { maintenanceNotSupported } from './errors.js'

/** One call of a maintenance method: `start` and `end` are encoded keys. */
export interface MaintenanceCall {
  method: string
  start?: Uint8Array | undefined
  end?: Uint8Array | undefined
  property?: string | undefined
}

/** classic-level's maintenance methods, as a database may have them. */
export interface MaintenanceTarget {
  approximateSize?(start: Uint8Array, end: Uint8Array, options: object): Promise<number>
  compactRange?(start: Uint8Array, end: Uint8Array, options: object): Promise<void>
  getProperty?(property: string): string
}

const KEYS = Object.freeze({ keyEncoding: 'buffer' })

/**
 * Run one of classic-level's maintenance methods (`approximateSize`, `compactRange`,
 * `getProperty`) on a local database, for a host serving it or a guest forwarding to it alike.
 * Resolves with the result as UTF-8 bytes, as it travels on the wire (`undefined` for none).
 * Rejects with `LEVEL_NOT_SUPPORTED` for another method or a database without it, and with the
 * database's own errors.
 */
export async function maintenance(db: MaintenanceTarget, message: MaintenanceCall): Promise<Uint8Array | undefined> {
  const { method, start, end, property } = message
  if (method === 'approximateSize' && typeof db.approximateSize === 'function') {
    return Buffer.from(String(await db.approximateSize(start ?? EMPTY, end ?? EMPTY, KEYS)))
  }
  if (method === 'compactRange' && typeof db.compactRange === 'function') {
    await db.compactRange(start ?? EMPTY, end ?? EMPTY, KEYS)
    return undefined
  }
  if (method === 'getProperty' && typeof db.getProperty === 'function') {
    return Buffer.from(db.getProperty(property ?? ''))
  }
  throw maintenanceNotSupported(method)
}

const EMPTY = new Uint8Array(0)
