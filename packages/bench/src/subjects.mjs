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
 * Open `location` as the subject `name`: `{ worker, role, stop }`, where `worker` is the process
 * to measure and `stop()` ends every process of the subject (followers first, so that none takes
 * over) and removes the location.
 */
export async function openSubject(name, location) {
  const { impl, role } = SUBJECTS[name]
  const workers = await Promise.all(Array.from({ length: role === 'follower' ? 2 : 1 }, spawn))
  const stop = async () => {
    for (const worker of workers.slice().reverse()) await worker.stop()
    removeLocation(location)
  }
  try {
    await workers[0].call('open', { impl, location, role: role === 'follower' ? 'leader' : role })
    if (role === 'follower') await workers[1].call('open', { impl, location, role })
  } catch (err) {
    await stop()
    throw err
  }
  return { worker: workers.at(-1), role, stop }
}
