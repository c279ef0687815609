import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { isValidEndpoint } from './endpoint-rules.js'
import { realLocation } from './real-location.js'
import { type Endpoint, openName } from './open-endpoint.js'
import { type SocketPathOptions, assertLocation, endpointFor, insideSocket, resolveOptions } from './socket-path.js'

/** Name of the file, inside the location, in which the leader records its endpoint. */
export const ENDPOINT_FILE = 'rave-level.endpoint'

/** A larger endpoint file is garbage by definition; this bounds what a reader allocates. */
const MAX_ENDPOINT_FILE_BYTES = 64 * 1024

/** Options of {@link publishEndpoint}. */
export interface PublishEndpointOptions {
  /** The platform whose rules the endpoint must satisfy. Default `process.platform`. */
  platform?: NodeJS.Platform
}

/** What the endpoint file holds: one JSON object followed by a newline. */
interface EndpointRecord {
  endpoint: string
  location: string
}

function sameLocation(a: string, b: string, platform: string): boolean {
  return platform === 'win32' ? a.toLowerCase() === b.toLowerCase() : a === b
}

/**
 * Rename, retrying briefly on Windows. There a rename over a file that another process has
 * open (a follower reading the previous endpoint, an antivirus scanner) can fail with `EPERM`,
 * `EACCES` or `EBUSY` for a few milliseconds; POSIX rename never does, so it is not retried.
 */
async function renameOver(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.rename(from, to)
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const transient = code === 'EPERM' || code === 'EACCES' || code === 'EBUSY'

      if (process.platform !== 'win32' || !transient || attempt >= 5) throw err
      await sleep(5 * 2 ** attempt)
    }
  }
}

/**
 * Record `endpoint` as the endpoint of the database at `location`, in the file
 * `<location>/rave-level.endpoint`, for {@link readEndpoint} to find.
 *
 * Only the process that holds the database's lock may call this, after it listens on
 * `endpoint` (so that a follower that reads the file can connect at once). The file is
 * replaced atomically (a uniquely named temporary file in the same directory, then a rename),
 * so readers see the previous record or the new one, never a mix. It is not fsynced: it
 * describes a live process, and after a crash a reader that finds garbage falls back to
 * `openEndpoint()`, after which the next leader publishes again.
 *
 * The file is written for every endpoint, also for the in-location `<location>/rave-level.sock`,
 * so that a record left by an earlier leader (that used a hashed path under another
 * `TMPDIR`, or before the directory was moved) never outlives a change of leader. The record
 * also holds the real location, so that a copy of the directory (a backup restored elsewhere)
 * does not send followers to the original's leader.
 *
 * @param location Path of the database directory; it must exist.
 * @param endpoint The endpoint the caller listens on: the {@link Endpoint} from `openEndpoint()`
 *   (its `name` is recorded), or a name.
 * @param options See {@link PublishEndpointOptions}.
 * @throws `TypeError` when `location` is not a non-empty string or `endpoint` is not a valid
 *   endpoint for the platform: the location's own `rave-level.sock` (of any length), an
 *   absolute socket path within the length limit that does not go through a file descriptor
 *   (not `/proc/self/...`: that means nothing to another process), or a `\\.\pipe\` name of at most
 *   256 characters without further backslashes.
 * @throws File system errors (such as `ENOENT` when the location does not exist) as they are.
 */
export async function publishEndpoint(
  location: string,
  endpoint: string | Endpoint,
  options?: PublishEndpointOptions
): Promise<void> {
  assertLocation(location)
  const platform = options?.platform ?? process.platform
  const name = typeof endpoint === 'object' && endpoint !== null ? endpoint.name : endpoint
  const real = realLocation(location)

  if (!isValidEndpoint(name, platform) && !(platform !== 'win32' && name === insideSocket(real))) {
    throw new TypeError(`The second argument "endpoint" is not a valid ${platform} endpoint`)
  }

  const record: EndpointRecord = { endpoint: name, location: real }
  const file = path.join(real, ENDPOINT_FILE)
  const temporary = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`

  try {
    // 0644 (less what the umask removes), as LevelDB creates its own files: only the owner may
    // write it, whatever the umask (a writable record would let anyone redirect followers).
    await fsp.writeFile(temporary, JSON.stringify(record) + '\n', { flag: 'wx', mode: 0o644 })
    await renameOver(temporary, file)
  } catch (err) {
    await fsp.rm(temporary, { force: true }).catch(() => {})
    throw err
  }
}

/**
 * The record in `file`, or `undefined` when it is missing, unreadable or malformed in any way.
 * Opened non-blocking and checked to be a regular file of bounded size, so that a FIFO or a
 * huge file planted in its place can neither hang nor exhaust the reader.
 */
async function readRecord(file: string): Promise<EndpointRecord | undefined> {
  let handle: fsp.FileHandle

  try {
    handle = await fsp.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0))
  } catch {
    return undefined
  }

  try {
    const stats = await handle.stat()
    if (!stats.isFile() || stats.size > MAX_ENDPOINT_FILE_BYTES) return undefined

    const buffer = Buffer.alloc(MAX_ENDPOINT_FILE_BYTES + 1)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    const bytes = buffer.subarray(0, bytesRead)
    const text = bytes.toString('utf8')

    // The trailing newline proves the read was not cut short; the round trip rejects invalid
    // UTF-8, which would otherwise decode to replacement characters.
    if (!text.endsWith('\n') || !Buffer.from(text, 'utf8').equals(bytes)) return undefined

    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null) return undefined

    const { endpoint, location } = parsed as Record<string, unknown>
    if (typeof endpoint !== 'string' || typeof location !== 'string') return undefined

    return { endpoint, location }
  } catch {
    return undefined
  } finally {
    await handle.close().catch(() => {})
  }
}

/**
 * Open the endpoint to connect to for the database at `location`: what its leader recorded with
 * {@link publishEndpoint} when `<location>/rave-level.endpoint` holds a valid record of another
 * endpoint than the in-location socket, else `openEndpoint(location, options)`. Close it (see
 * {@link Endpoint.close}) once the connect attempt settled.
 *
 * Use this (not `openEndpoint()`) to connect as a follower: a hashed socket path lives in the
 * leader's private directory, which depends on its `TMPDIR` and `XDG_RUNTIME_DIR`, and the
 * record is how a follower with another environment finds it. A record is ignored, as if
 * absent, unless it is a regular file of at most 64 KiB holding
 * `{"endpoint":"...","location":"..."}` and a newline, where the endpoint is valid for
 * `options.platform` (an absolute socket path within the length limit, without NUL and not
 * through a file descriptor, or a `\\.\pipe\` name of at most 256 characters) and the location
 * equals this location's real path (case-insensitively on Windows). A record of the
 * in-location socket leads to `openEndpoint()` too, which reaches it however long its path. The
 * endpoint is not probed: a record left by a dead leader is returned, and connecting to it
 * fails, which an election treats as "no leader".
 *
 * @param location Path of the database directory.
 * @param options See `SocketPathOptions`; used for validation and for the fallback.
 * @throws `TypeError` when `location` is not a non-empty string, or an option is malformed.
 * @throws `LEVEL_SOCKET_UNAVAILABLE` from the `openEndpoint()` fallback, and its file system
 *   errors (such as `ENOENT` for a missing location whose socket path is too long), as rejections.
 */
export async function readEndpoint(location: string, options?: SocketPathOptions): Promise<Endpoint> {
  assertLocation(location)
  const resolved = resolveOptions(options)
  const real = realLocation(location)
  const record = await readRecord(path.join(real, ENDPOINT_FILE))

  if (
    record !== undefined &&
    record.endpoint !== insideSocket(real) &&
    isValidEndpoint(record.endpoint, resolved.platform) &&
    sameLocation(record.location, real, resolved.platform)
  ) {
    return openName(record.endpoint, resolved)
  }

  return openName(endpointFor(real, resolved), resolved)
}
