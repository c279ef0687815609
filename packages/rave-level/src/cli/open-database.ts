import fs from 'node:fs'
import path from 'node:path'
import { noDatabase } from '../errors.js'
import { RaveLevel } from '../rave-level.js'

/** The flags that decide how the CLI opens a database. */
export interface OpenFlags {
  /** Create the database when `location` holds none (default: refuse). */
  create?: boolean | undefined
  /** Milliseconds to wait for a leader when the lock is held but nobody serves. */
  timeout: number
}

/** A database of raw bytes: the CLI encodes keys and values itself (see `codec.ts`). */
export type BytesDatabase = RaveLevel<Buffer, Buffer>

/**
 * Open `location` as any other rave-level process would: follow the leader when there is one,
 * lead (briefly, until `body` is done) when there is none. Run `body`, then close, which hands
 * the lead to the next process if this one had it.
 *
 * Without `create`, a location that holds no LevelDB database (no `CURRENT` file) is refused
 * rather than created, so that a mistyped path does not leave an empty database behind and
 * `ls ~/` does not write LevelDB files into a home folder.
 *
 * @param notice Called with a line worth telling the user while waiting (a held but unserved lock).
 * @throws `LEVEL_DATABASE_NOT_OPEN` when there is no database and `create` is not set; otherwise
 * whatever the database or `body` throws (`LEVEL_LOCKED` after `timeout`, ...).
 */
export async function withDatabase<T>(
  location: string,
  flags: OpenFlags,
  notice: (message: string) => void,
  body: (db: BytesDatabase) => Promise<T>
): Promise<T> {
  const absolute = path.resolve(location)
  if (flags.create !== true) assertDatabase(absolute)
  const db = new RaveLevel<Buffer, Buffer>(absolute, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    timeout: flags.timeout
  })
  db.on('stalled', (info) => {
    const what =
      info.reason === 'locked'
        ? `the lock is held but nothing answers at ${info.endpoint}`
        : 'the leader does not answer'
    notice(`waiting: ${what} (${info.elapsed} ms, giving up after ${flags.timeout} ms)`)
  })
  try {
    await db.open()
    return await body(db)
  } finally {
    await db.close()
  }
}

function assertDatabase(location: string): void {
  let reason: string | undefined
  if (!fs.existsSync(location)) reason = 'it does not exist'
  else if (!fs.statSync(location).isDirectory()) reason = 'it is not a directory'
  else if (!fs.existsSync(path.join(location, 'CURRENT'))) reason = 'it holds no LevelDB database (no CURRENT file)'
  if (reason === undefined) return
  throw noDatabase(location, reason)
}
