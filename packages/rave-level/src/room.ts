import fs from 'node:fs'

/**
 * Room on a full disk, for a leader healing after `LEVEL_IO_ERROR` (see `RaveLevel`): this
 * module owns what counts as room again and how often it looks.
 *
 * Room is what LevelDB needs to reopen the database, not a fixed amount. Opening replays every
 * log (`*.log`) into a new table, and writes a new MANIFEST and a new, empty log. Measured with
 * classic-level 3: the table takes 0.05 (values that compress) to 1.0 (values that do not) times
 * the log's size, and up to 1.5 times for entries of a few bytes (each key gains 8 bytes of
 * sequence number in a table, plus its share of index and filter). Twice the logs, the
 * manifests, and 1 MiB for the new files and the first writes is enough in every case we
 * measured; once open, LevelDB deletes the logs it replayed, which gives their room back.
 */

/** How often (ms) a leader whose disk was full checks for room again. */
const HEAL_POLL = 250
/** Room for the files a reopen creates besides the tables (MANIFEST, log, LOG) and first writes. */
const MARGIN = 1024 * 1024

/** A leader's wait for room to reopen its database at `location`. */
export class RoomWait {
  readonly #location: string
  #found = false
  #wake: (() => void) | undefined

  constructor(location: string) {
    this.#location = location
  }

  /**
   * Whether the disk has room for the reopen now. Synchronous, and measured afresh (a few
   * `stat`s), so that a write made once room is back is told so, whenever the leader last looked.
   */
  check(): boolean {
    if (!this.#found && free(this.#location) >= needed(this.#location)) this.#found = true
    if (this.#found) this.#wake?.()
    return this.#found
  }

  /** Resolve once {@link RoomWait.check} finds room (it is called every `HEAL_POLL` ms too), or as soon as `waiting()` turns false. */
  async until(waiting: () => boolean): Promise<void> {
    while (waiting()) {
      if (this.check()) return
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, HEAL_POLL).unref()
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }
}

/** Resolve after the time between two looks for room (between two attempts to reopen). */
export function afterAWhile(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, HEAL_POLL).unref())
}

/** Free bytes LevelDB needs to reopen the database at `location` (see above). */
function needed(location: string): number {
  let logs = 0
  let manifests = 0
  try {
    for (const name of fs.readdirSync(location)) {
      const log = /^\d+\.log$/.test(name)
      if (!log && !name.startsWith('MANIFEST-')) continue
      const size = fs.statSync(`${location}/${name}`, { throwIfNoEntry: false })?.size ?? 0
      if (log) logs += size
      else manifests += size
    }
  } catch {
    return MARGIN
  }
  return 2 * logs + manifests + MARGIN
}

/** Free bytes on the disk of `location` (infinite if that cannot be told). */
function free(location: string): number {
  try {
    const stats = fs.statfsSync(location)
    return stats.bavail * stats.bsize
  } catch {
    return Number.POSITIVE_INFINITY
  }
}
