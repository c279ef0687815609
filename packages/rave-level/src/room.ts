import fs from 'node:fs/promises'

/**
 * Waiting for room on a full disk, for a leader healing after `LEVEL_IO_ERROR` (see
 * `RaveLevel`): this module owns what counts as room again and how often it looks.
 */

/** How often (ms) a leader whose disk was full checks for room again. */
const HEAL_POLL = 250
/** Free bytes that count as room again: enough for LevelDB to reopen and take writes. */
const ROOM = 1024 * 1024

/** Resolve once the disk of `location` has room again, or as soon as `waiting()` turns false. */
export async function untilRoom(location: string, waiting: () => boolean): Promise<void> {
  while (waiting() && !(await hasRoom(location))) {
    await new Promise((resolve) => setTimeout(resolve, HEAL_POLL).unref())
  }
}

async function hasRoom(location: string): Promise<boolean> {
  try {
    const stats = await fs.statfs(location)
    return stats.bavail * stats.bsize >= ROOM
  } catch {
    return true
  }
}
