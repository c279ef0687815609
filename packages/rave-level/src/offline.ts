import fs from 'node:fs/promises'
import path from 'node:path'
import { socketPath } from '@rave-level/socket-path'
import { ClassicLevel } from 'classic-level'
import { inUse } from './errors.js'

/** Files a leader leaves in the database's directory, besides LevelDB's own. */
const OWN_FILES = ['rave-level.endpoint', 'rave-level.sock']

/**
 * Delete the database at `location`, as `ClassicLevel.destroy()` does, and the files rave-level
 * keeps next to it (the endpoint record, a socket), so that the directory goes too. Refuses with
 * `LEVEL_LOCKED` while any process holds the database. Our files are removed while this process
 * holds the lock, so never from under a leader; LevelDB's destroy then takes the lock again
 * itself, so a process that opened the database in between is not destroyed from under either.
 */
export async function destroy(location: string): Promise<void> {
  assertLocation(location, 'destroy')
  const probe = await hold(location)
  if (probe !== undefined) {
    try {
      await removeOwnFiles(location)
    } finally {
      await probe.close()
    }
  }
  try {
    await ClassicLevel.destroy(location)
  } catch (err) {
    throw lockedOr(err, location)
  }
}

/**
 * Repair the database at `location`, as `ClassicLevel.repair()` does. Refuses with
 * `LEVEL_LOCKED` while any process holds the database. LevelDB's repair takes no lock itself:
 * a process that opens the database while the repair runs is not kept out, so run it while no
 * process uses the database.
 */
export async function repair(location: string): Promise<void> {
  assertLocation(location, 'repair')
  const probe = await hold(location)
  await probe?.close()
  await ClassicLevel.repair(location)
}

/**
 * Open the database only to hold its lock: `undefined` when there is nothing to open (missing,
 * or not openable for another reason, which the operation itself then reports as classic-level
 * does). Throws `LEVEL_LOCKED` when another process holds it.
 */
async function hold(location: string): Promise<ClassicLevel | undefined> {
  const probe = new ClassicLevel(location, { createIfMissing: false })
  try {
    await probe.open()
    return probe
  } catch (err) {
    const locked = lockedOr(err, location)
    if (locked !== err) throw locked
    return undefined
  }
}

async function removeOwnFiles(location: string): Promise<void> {
  const files = OWN_FILES.map((name) => path.join(location, name))
  try {
    // A leader whose location was too long for a socket there listened in the private directory.
    files.push(socketPath(location, { hashed: true }))
  } catch {
    // No such directory to look in.
  }
  for (const file of files) await fs.rm(file, { force: true })
}

/** `err` as `LEVEL_LOCKED` (with `err` as its cause) if it says the lock is held; else `err`. */
function lockedOr(err: unknown, location: string): unknown {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e != null; e = e.cause as typeof e) {
    if (e.code === 'LEVEL_LOCKED') {
      return inUse(location, err as Error)
    }
  }
  return err
}

function assertLocation(location: unknown, method: string): asserts location is string {
  if (typeof location !== 'string' || location === '') {
    throw new TypeError(`RaveLevel.${method}(): the first argument must be a non-empty string`)
  }
}
