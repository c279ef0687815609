// The subjects measured side by side, and the processes each needs: classic-level used directly
// and ours as the leader run in one worker; a follower (ours or upstream rave-level 1.0.0) runs
// in a worker of its own, next to a worker that leads the same database.
import { removeLocation, spawn } from './procs.mjs'

export const SUBJECTS = {
  'classic-level': { impl: 'classic' },
  'upstream follower': { impl: 'upstream', role: 'follower' },
  'ours follower': { impl: 'ours', role: 'follower' },
  'ours leader': { impl: 'ours', role: 'leader' }
}

/**
 * Start a leader of `location` (ours or upstream) and then `followers` followers of it; call
 * `fn(followers, leader)`; stop them all (followers first, so that none takes over) and remove
 * the location.
 */
export async function withCluster(impl, location, followers, fn) {
  const workers = await Promise.all(Array.from({ length: followers + 1 }, spawn))
  try {
    const [leader, ...rest] = workers
    await leader.call('open', { impl, location, role: 'leader' })
    await Promise.all(rest.map((worker) => worker.call('open', { impl, location, role: 'follower' })))
    return await fn(rest, leader)
  } finally {
    for (const worker of workers.reverse()) await worker.stop()
    removeLocation(location)
  }
}

/** Open `location` as the subject `name` and call `fn(worker, role)` on the worker to measure. */
export async function withSubject(name, location, fn) {
  const { impl, role } = SUBJECTS[name]
  if (role === 'follower') return withCluster(impl, location, 1, ([follower]) => fn(follower, role))
  const worker = await spawn()
  try {
    await worker.call('open', { impl, location, role })
    return await fn(worker, role)
  } finally {
    await worker.stop()
    removeLocation(location)
  }
}
