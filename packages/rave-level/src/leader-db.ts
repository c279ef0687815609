import { ClassicLevel } from 'classic-level'

const bufferEncodings = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const

/**
 * The leader's classic-level database. It reports every failed write to `onWriteError`, from
 * the leader's own operations and from its followers' alike (both reach LevelDB through these
 * private methods or the public ones that call them), so that the leader can heal a database
 * that keeps failing (see `RaveLevel`).
 */
export class LeaderDb extends ClassicLevel<Buffer, Buffer> {
  readonly #onWriteError: (err: unknown) => void

  constructor(location: string, onWriteError: (err: unknown) => void) {
    super(location, bufferEncodings)
    this.#onWriteError = onWriteError
  }

  // abstract-level's private API, which classic-level's type declarations leave out.
  _put(key: unknown, value: unknown, options: object): Promise<void> {
    return this.#watch(base._put.call(this, key, value, options))
  }

  _del(key: unknown, options: object): Promise<void> {
    return this.#watch(base._del.call(this, key, options))
  }

  _batch(operations: unknown[], options: object): Promise<void> {
    return this.#watch(base._batch.call(this, operations, options))
  }

  #watch(write: Promise<void>): Promise<void> {
    return write.catch((err: unknown) => {
      this.#onWriteError(err)
      throw err
    })
  }
}

type Write = (this: unknown, ...args: unknown[]) => Promise<void>
const base = ClassicLevel.prototype as unknown as Record<'_put' | '_del' | '_batch', Write>

/**
 * Try to take the LevelDB lock by opening the database. `undefined` when another process holds
 * it (classic-level 3 reports that as `LEVEL_DATABASE_NOT_OPEN` caused by `LEVEL_LOCKED`).
 * Rejects with classic-level's error for anything else.
 */
export async function acquire(
  location: string,
  signal: AbortSignal,
  onWriteError: (err: unknown) => void
): Promise<LeaderDb | undefined> {
  signal.throwIfAborted()
  const db = new LeaderDb(location, onWriteError)
  try {
    await db.open()
  } catch (err) {
    if (isLocked(err)) return undefined
    throw err
  }
  // If the election closed meanwhile, it releases what we return.
  return db
}

/** Whether opening failed because another process holds the lock (classic-level 3 reports that as `LEVEL_DATABASE_NOT_OPEN` caused by `LEVEL_LOCKED`). */
export function isLocked(err: unknown): boolean {
  return (err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED'
}
