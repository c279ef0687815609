/**
 * The shapes a {@link LocalStore} works with: the database it writes to (any abstract-level
 * database that supports the `'buffer'` encoding), the iterators it reads, and the formats of
 * reads and writes as abstract-level's private API receives them. Types only.
 */
import type { SequencedWrite } from './sequencer.js'

/**
 * Options of a read as the private API receives them: formats (`'buffer'`, `'view'`, `'utf8'`)
 * and, for an explicit snapshot, the database's own snapshot object.
 */
export interface Formats {
  keyEncoding: string
  valueEncoding?: string | undefined
  snapshot?: object | undefined
}

/**
 * One write, with the formats abstract-level's private `_batch()` contract promises on each
 * operation (the wire codec ignores them).
 */
export interface WriteOp extends SequencedWrite, Formats {}

/** The part of an abstract-level iterator a forwarded cursor reads from. */
export interface LocalIterator {
  nextv(size: number): Promise<unknown[]>
  seek(target: any, options?: any): void
  close(): Promise<void>
}

/**
 * A database the guest can forward to: any abstract-level (2 or 3) database that supports the
 * `'buffer'` encoding, such as classic-level 3 or memory-level 3. (Typed loosely, so that any
 * such database, whatever its own key and value types, fits.)
 */
export interface ForwardTarget {
  readonly status: string
  readonly supports: { has?: boolean }
  get(key: any, options?: any): Promise<any>
  getMany(keys: any[], options?: any): Promise<any[]>
  has?(key: any, options?: any): Promise<boolean>
  hasMany?(keys: any[], options?: any): Promise<boolean[]>
  batch(operations: any[], options?: any): Promise<void>
  clear(options?: any): Promise<void>
  iterator(options?: any): LocalIterator
  keys(options?: any): LocalIterator
  values(options?: any): LocalIterator
}
