import fs from 'node:fs'
import path from 'node:path'

/**
 * The canonical absolute path of `location`, the same in every process however the location is
 * spelled: relative or absolute, through symlinks, with `.` and `..` segments, with redundant or
 * trailing separators.
 *
 * The longest existing prefix is resolved with `fs.realpathSync.native`; the segments that do
 * not exist yet are appended to it. That keeps the answer stable across the moment the location
 * is created: once the leader has created the directory, the realpath of the whole location
 * equals the realpath of its parent plus the missing name. (A dangling symlink as the last
 * segment is the exception: it is treated as a name, not followed.)
 *
 * On POSIX a relative location is joined to the working directory without lexical
 * normalization, so `link/..` means the parent of the link's target, as it does for the
 * kernel (and so for LevelDB). On Windows the OS itself normalizes `..` lexically, so we do too.
 *
 * File system errors other than `ENOENT` and `ENOTDIR` (such as `EACCES` on a parent directory)
 * are thrown as they are.
 *
 * @param location A non-empty path without NUL bytes.
 */
export function realLocation(location: string): string {
  let head =
    process.platform === 'win32'
      ? path.resolve(location)
      : path.isAbsolute(location)
        ? location
        : process.cwd() + '/' + location
  const missing: string[] = []

  for (;;) {
    try {
      const real = fs.realpathSync.native(head)
      return missing.length === 0 ? real : path.resolve(real, ...missing.reverse())
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const parent = path.dirname(head)

      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === head) {
        throw err
      }

      missing.push(path.basename(head))
      head = parent
    }
  }
}
