import { frameTooLarge } from '@rave-level/protocol'
import ModuleError from 'module-error'

// The one place this package makes its errors: every other file calls these. The codes are
// listed, with what to do about each, in docs/errors.md at the root of the repository. The
// codes that cross the wire are protocol's; the two here are abstract-level's.

/** @internal `LEVEL_NOT_SUPPORTED`: the served database has no explicit snapshots. */
export function snapshotsNotSupported(): ModuleError {
  return new ModuleError('The database does not support explicit snapshots', { code: 'LEVEL_NOT_SUPPORTED' })
}

/** @internal abstract-level's `LEVEL_SNAPSHOT_NOT_OPEN`: a read names a snapshot this connection does not have. */
export function snapshotNotOpen(id: number): ModuleError {
  return new ModuleError(`Snapshot ${id} is not open on this connection`, { code: 'LEVEL_SNAPSHOT_NOT_OPEN' })
}

/** @internal `LEVEL_FRAME_TOO_LARGE`: one entry of an iterator does not fit in the guest's frame limit. */
export function entryTooLarge(limit: number): ModuleError {
  return frameTooLarge(`An entry of the iterator does not fit in a frame of ${limit} bytes`)
}
