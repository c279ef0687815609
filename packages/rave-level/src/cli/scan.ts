import type { BytesDatabase } from './open-database.js'
import type { BufferRange } from './range.js'

/** The part of an abstract-level iterator that {@link scan} uses. */
export interface BatchIterator<T> {
  nextv(size: number): Promise<T[]>
  close(): Promise<void>
}

const BATCH = 1000

/**
 * Read `iterator` in batches and hand each batch to `each` until the iterator is done or
 * `each` returns `false`. The iterator is closed in every case.
 */
export async function scan<T>(
  iterator: BatchIterator<T>,
  each: (batch: T[]) => Promise<boolean> | boolean
): Promise<void> {
  try {
    for (;;) {
      const batch = await iterator.nextv(BATCH)
      if (batch.length === 0 || !(await each(batch))) return
    }
  } finally {
    await iterator.close()
  }
}

/** Count the keys of `db` in `range`, reading keys only. */
export async function countKeys(db: BytesDatabase, range: BufferRange): Promise<number> {
  let count = 0
  await scan(db.keys(range), (batch) => {
    count += batch.length
    return true
  })
  return count
}
