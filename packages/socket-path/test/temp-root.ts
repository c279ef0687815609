import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Short temporary directories for one test file: `/tmp/rl-XXXXXX` (under `os.tmpdir()` on
 * Windows), real-pathed (on macOS `/tmp` is a symlink), removed by {@link TempRoots.cleanup}
 * in `afterEach`. `/tmp` rather than `os.tmpdir()` on POSIX, because macOS's per-user temporary
 * directory alone takes half of its 103-byte socket path budget.
 */
export class TempRoots {
  #roots: string[] = []

  /** Create a fresh root with mode `0o700` and return its real path. */
  create(): string {
    const prefix = process.platform === 'win32' ? path.join(os.tmpdir(), 'rl-') : '/tmp/rl-'
    const root = fs.realpathSync(fs.mkdtempSync(prefix))
    this.#roots.push(root)
    return root
  }

  /** Remove every root created so far. */
  cleanup(): void {
    for (const root of this.#roots.splice(0)) {
      fs.rmSync(root, { recursive: true, force: true })
    }
  }
}

/**
 * A path under `root` of exactly `bytes` ASCII bytes ending in `last`, made of segments short
 * enough for any file system. Nothing is created.
 */
export function longLocation(root: string, bytes: number, last: string): string {
  let location = root

  while (bytes - location.length > 60) {
    location += '/' + 'd'.repeat(50)
  }

  const remaining = bytes - location.length - 1
  if (remaining < last.length) throw new RangeError('root too long for the requested length')

  return location + '/' + 'e'.repeat(remaining - last.length) + last
}

/** The current user's uid; these tests only run where there are uids. */
export function currentUid(): number {
  return process.getuid!()
}
