/**
 * When {@link LocalStore} may call a database's private abstract-level API (`_get`, `_batch`,
 * ...) instead of its public one: which formats the database stores natively, and whether its
 * public methods are abstract-level's own (so that the private path skips nothing a subclass
 * added). This module owns that decision; `local-store.ts` owns what is done with it.
 */
import type { ForwardTarget, WriteOp } from './forward-target.js'

/** What the direct path uses beyond {@link ForwardTarget}: abstract-level's private API. */
export interface Internals {
  readonly parent?: unknown
  readonly hooks?: { prewrite?: { noop?: boolean } }
  listenerCount?(event: string): number
  keyEncoding?(name: string): { format?: string }
  valueEncoding?(name: string): { format?: string }
  _get(key: unknown, options: object): Promise<unknown>
  _getMany(keys: unknown[], options: object): Promise<unknown[]>
  _has(key: unknown, options: object): Promise<boolean>
  _hasMany(keys: unknown[], options: object): Promise<boolean[]>
  _put(key: unknown, value: unknown, options: object): Promise<void>
  _del(key: unknown, options: object): Promise<void>
  _batch(operations: WriteOp[], options: object): Promise<void>
}

export function nativeFormats(db: ForwardTarget & Partial<Internals>): Set<string> {
  const native = new Set<string>()
  for (const format of ['buffer', 'view', 'utf8']) {
    try {
      if (db.keyEncoding?.(format).format === format && db.valueEncoding?.(format).format === format) native.add(format)
    } catch {
      // Not supported at all.
    }
  }
  return native
}

/** The object on `db`'s prototype chain that defines `name`. */
function owner(db: object, name: string): object | null {
  let proto: object | null = db
  while (proto !== null && !Object.hasOwn(proto, name)) proto = Object.getPrototypeOf(proto)
  return proto
}

/**
 * Whether the public methods the private path stands in for are abstract-level's own: a class
 * that overrides `put()` or `batch()` (to validate, to log, to add defaults) must be called
 * through them. `keyEncoding()` is defined by abstract-level's base class alone, so its owner
 * is that class's prototype.
 */
function publicApiIsAbstractLevels(db: object): boolean {
  const base = owner(db, 'keyEncoding')
  return base !== null && PUBLIC.every((name) => owner(db, name) === base)
}

const PUBLIC = ['get', 'getMany', 'has', 'hasMany', 'put', 'del', 'batch']

export function canBypass(db: ForwardTarget & Partial<Internals>): boolean {
  return (
    db.parent == null &&
    publicApiIsAbstractLevels(db) &&
    typeof db.listenerCount === 'function' &&
    ['_get', '_getMany', '_put', '_del', '_batch'].every((m) => typeof (db as any)[m] === 'function') &&
    (db.supports.has !== true || (typeof db._has === 'function' && typeof db._hasMany === 'function'))
  )
}
