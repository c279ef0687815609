import fs from 'node:fs'
import path from 'node:path'
import { noDatabase, unreadable } from '../errors.js'
import { RaveLevel } from '../rave-level.js'
import { isRemoteUrl } from '../remote-url.js'
import { TOKEN_ENV } from './options.js'

/** The flags that decide how the CLI opens a database. */
export interface OpenFlags {
  /** Create the database when `location` holds none (default: refuse). */
  create?: boolean | undefined
  /** Milliseconds to wait for a leader when the lock is held but nobody serves. */
  timeout: number
  /** For a remote location: files of the token, CA, client certificate and key. */
  tokenFile?: string | undefined
  ca?: string | undefined
  cert?: string | undefined
  key?: string | undefined
}

/**
 * A database of raw bytes: the CLI encodes keys and values itself (see `codec.ts`). A local
 * location opens a `RaveLevel`, a `tls://` one a remote follower, whose surface is the same
 * (it has a `location`, its URL, and a `role`, never `'leader'`).
 */
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
  const options = { keyEncoding: 'buffer', valueEncoding: 'buffer', timeout: flags.timeout } as const
  let db: BytesDatabase
  if (isRemoteUrl(location)) {
    db = RaveLevel.connect<Buffer, Buffer>(location, {
      ...options,
      ...remoteCredentials(flags)
    }) as unknown as BytesDatabase
  } else {
    const absolute = path.resolve(location)
    if (flags.create !== true) assertDatabase(absolute)
    db = new RaveLevel<Buffer, Buffer>(absolute, options)
  }
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

/**
 * The credentials of a remote location: the token from `--token-file` or the environment (never
 * from an argument, which other users see in `ps`), and the PEM files of `--ca`, `--cert`, `--key`.
 */
function remoteCredentials(flags: OpenFlags): { token?: string; tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } } {
  const token =
    flags.tokenFile === undefined ? process.env[TOKEN_ENV] : readFile(flags.tokenFile, 'token').toString('utf8').trim()
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}
  if (flags.ca !== undefined) tls.ca = readFile(flags.ca, 'CA')
  if (flags.cert !== undefined) tls.cert = readFile(flags.cert, 'certificate')
  if (flags.key !== undefined) tls.key = readFile(flags.key, 'key')
  return token === undefined || token === '' ? { tls } : { token, tls }
}

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file)
  } catch (err) {
    throw unreadable(file, what, err as NodeJS.ErrnoException)
  }
}
