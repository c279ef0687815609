import { FacadeLevel } from '@rave-level/guest/internal'
import type { AbstractDeferOptions } from 'abstract-level'

/**
 * @packageDocumentation
 * The base of `RaveLevel` and `RemoteLevel`: `FacadeLevel`, plus a count of the operations
 * issued while the database is opening. abstract-level holds those until `open()` settles, and
 * `close()` promises to finish them first; with none issued, a `close()` called while opening
 * waits for nothing and may stop opening at once (no leader to wait for up to `timeout`).
 */
export class OpeningFacade<K = string, V = string> extends FacadeLevel<K, V> {
  override defer(fn: () => void, options?: AbstractDeferOptions): void {
    if (this.status !== 'opening') {
      super.defer(fn, options)
      return
    }
    deferred.set(this, (deferred.get(this) ?? 0) + 1)
    super.defer(() => {
      settled(this)
      fn()
    }, options)
  }

  override deferAsync<T>(fn: () => Promise<T>, options?: AbstractDeferOptions): Promise<T> {
    if (this.status !== 'opening') return super.deferAsync(fn, options)
    deferred.set(this, (deferred.get(this) ?? 0) + 1)
    const held = super.deferAsync(fn, options)
    const done = (): void => settled(this)
    held.then(done, done)
    return held
  }
}

/**
 * Operations issued while opening and not yet run or failed, per instance. Kept here rather
 * than on the instance, so that nothing of it shows on the public object.
 */
const deferred = new WeakMap<object, number>()

function settled(db: object): void {
  deferred.set(db, (deferred.get(db) ?? 1) - 1)
}

/** Whether no operation issued while `db` was opening still waits for its `open()` to settle. */
export function nothingIssued(db: object): boolean {
  return (deferred.get(db) ?? 0) === 0
}
