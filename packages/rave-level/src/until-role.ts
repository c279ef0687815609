import type { Election } from '@rave-level/election'
import type ModuleError from 'module-error'
import { openFailure } from './errors.js'
import type { LeaderDb } from './leader-db.js'

/**
 * Resolve once `election` (just started here) makes this instance lead or follow; reject on a
 * lasting failure to open the database, or after `timeout`. This is what `RaveLevel.open()`
 * waits for. `failure()` says why this process last failed to open the database (it explains
 * a timeout); `lasting` receives, while waiting, the function that fails at once with a lasting
 * failure (and `undefined` once settled): `fail(err)` rejects with `openFailure(err)`, or with
 * `err` itself when `asIs` (a close() that stops the open).
 */
export function untilRole(
  election: Election<LeaderDb>,
  failure: () => Error | undefined,
  lasting: (fail: ((err: Error, asIs?: boolean) => void) | undefined) => void
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      election.off('leader', onRole)
      election.off('follower', onRole)
      election.off('timeout', onTimeout)
      lasting(undefined)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onRole = () => done()
    const onTimeout = (err: ModuleError) => {
      const cause = failure()
      done(cause !== undefined ? openFailure(cause) : err)
    }
    election.on('leader', onRole)
    election.on('follower', onRole)
    election.on('timeout', onTimeout)
    lasting((err, asIs) => done(asIs === true ? err : openFailure(err)))
    election.start()
  })
}
