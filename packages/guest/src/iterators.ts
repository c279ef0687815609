import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level'
import { ENTRIES, type IteratorMode, KEYS } from '@rave-level/protocol'
import type { GuestCursor } from './cursor.js'

type IteratorClass = new (...args: any[]) => object

/**
 * Implements the abstract-level iterator contract (`_next`, `_nextv`, `_seek`, `_close`) by
 * delegating to a {@link GuestCursor}, once for each of abstract-level's three iterator
 * classes. `_all` keeps abstract-level's default, which loops over `_nextv`.
 */
function delegating<T extends IteratorClass>(Base: T) {
  return class extends Base {
    #cursor: GuestCursor

    // Mixin constructors must take `...args: any[]`: (db, options, cursor).
    constructor(...args: any[]) {
      super(args[0], args[1])
      this.#cursor = args[2]
    }

    _next(): Promise<unknown> {
      return this.#cursor.next()
    }

    _nextv(size: number): Promise<unknown[]> {
      return this.#cursor.nextv(size)
    }

    _seek(target: unknown): void {
      this.#cursor.seek(target)
    }

    _close(): Promise<void> {
      return this.#cursor.close()
    }
  }
}

type CursorIteratorClass = new (db: object, options: object, cursor: GuestCursor) => object

const classes: readonly CursorIteratorClass[] = [
  delegating(AbstractIterator),
  delegating(AbstractKeyIterator),
  delegating(AbstractValueIterator)
]

/** @internal Create the abstract-level iterator of `mode` (entries, keys or values) over `cursor`. */
export function createIterator(mode: IteratorMode, db: object, options: object, cursor: GuestCursor): object {
  const Iterator = classes[mode === ENTRIES ? 0 : mode === KEYS ? 1 : 2] as CursorIteratorClass
  return new Iterator(db, options, cursor)
}
