import { FacadeLevel } from '@rave-level/guest/internal'
import type { AbstractDeferOptions, AbstractOpenOptions } from 'abstract-level'
import { closedWhileOpening, notReopenable, openOnce } from './errors.js'

/**
 * @packageDocumentation
 * The base of `RaveLevel` and `RemoteLevel`: `FacadeLevel`, plus what both promise around
 * `open()` and `close()`. Neither can be reopened after `close()`. Operations issued while
 * opening are counted (abstract-level holds them until `open()` settles, and `close()` finishes
 * them first); with none, a `close()` called while still opening waits for nothing, so it stops
 * the open at once through the subclass's {@link stopOpening} rather than after `timeout`.
 */

/** The hook a subclass implements to end its pending open with `err` (see {@link OpeningFacade}). */
export const stopOpening: unique symbol = Symbol('rave-level.stopOpening')
/** The error a subclass's open ends with once `close()` abandoned it, else `undefined`. */
export const abandoned: unique symbol = Symbol('rave-level.abandoned')

export abstract class OpeningFacade<K = string, V = string> extends FacadeLevel<K, V> {
  /** Where the database is: a directory, or a leader's URL. */
  abstract get location(): string

  /** End the pending open with `err` (`close()` came while opening, with nothing issued). */
  protected abstract [stopOpening](err: Error): void

  #closed = false
  /** Operations issued while opening and not yet run or failed. */
  #deferred = 0
  #abandoned: Error | undefined

  protected get [abandoned](): Error | undefined {
    return this.#abandoned
  }

  /**
   * Open the database. Called automatically by the constructor. Resolves once this instance
   * leads or follows.
   * @throws `LEVEL_NOT_SUPPORTED` after `close()`: it cannot be reopened.
   * @throws `LEVEL_DATABASE_NOT_OPEN` when it cannot be opened, with the cause in its message and
   *   `cause` (`LEVEL_LOCKED` or `LEVEL_CONNECTION_LOST` when no leader was reached within
   *   `timeout`; `LEVEL_ABORTED` when `close()` came first, with nothing issued).
   */
  override open(options?: AbstractOpenOptions): Promise<void> {
    return openOnce(this.#closed, options, () => super.open(options as AbstractOpenOptions))
  }

  /**
   * Close the database: first let every operation issued before it settle (answered, or
   * rejected after `timeout`), then stop serving if this instance leads (the next instance takes
   * over) and release what it holds. Called while no leader was reached yet and nothing is
   * issued, it stops opening at once. The database cannot be reopened afterwards.
   */
  override close(): Promise<void> {
    // Decided here rather than in _close(): an open() called while closing must not reopen.
    this.#closed = true
    if (this.status === 'opening' && this.#deferred === 0) {
      this.#abandoned = closedWhileOpening(this.location)
      this[stopOpening](this.#abandoned)
    }
    return super.close()
  }

  override async _open(): Promise<void> {
    if (this.#closed) throw notReopenable()
    await super._open()
  }

  override defer(fn: () => void, options?: AbstractDeferOptions): void {
    if (this.status !== 'opening') {
      super.defer(fn, options)
      return
    }
    this.#deferred++
    super.defer(() => {
      this.#deferred--
      fn()
    }, options)
  }

  override deferAsync<T>(fn: () => Promise<T>, options?: AbstractDeferOptions): Promise<T> {
    if (this.status !== 'opening') return super.deferAsync(fn, options)
    this.#deferred++
    const held = super.deferAsync(fn, options)
    const done = (): void => {
      this.#deferred--
    }
    held.then(done, done)
    return held
  }
}
