import { AbstractChainedBatch } from 'abstract-level'
import type { WriteOp } from '@rave-level/store'
import { own } from './formats.js'

/** The part of a database a chained batch writes to: its private `_batch()`. */
interface BatchWriter {
  _batch(operations: WriteOp[], options: object): Promise<void>
}

/**
 * A chained batch that copies keys and values as they are added, as classic-level's does: a
 * caller may refill its buffer between `batch.put()` and `batch.write()` (abstract-level's
 * default chained batch holds them by reference until then).
 */
export class GuestChainedBatch extends AbstractChainedBatch<any, any, any> {
  #ops: WriteOp[] = []

  constructor(db: any) {
    // Opt in to _add() instead of _put() and _del().
    // (abstract-level's type declarations omit the options argument.)
    super(...([db, { add: true }] as unknown as [any]))
  }

  _add(op: WriteOp): void {
    const { type, key, value, keyEncoding, valueEncoding } = op
    this.#ops.push(
      type === 'put'
        ? { type, key: own(key), value: own(value), keyEncoding, valueEncoding }
        : { type: 'del', key: own(key), keyEncoding }
    )
  }

  _clear(): void {
    this.#ops = []
  }

  async _write(options: object): Promise<void> {
    // The private method, as abstract-level's own does: no double encoding, prefixing or hooks.
    return (this.db as unknown as BatchWriter)._batch(this.#ops, options)
  }
}
