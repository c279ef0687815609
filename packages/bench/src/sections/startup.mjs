// Start-up, as a command-line tool lives it: in a fresh process, `new RaveLevel(location)` to the
// first resolved get of a key that exists, as the leader (nobody holds the database) and as a
// follower (a leader serves it from another process); next to classic-level's open + get. The
// import of the module is timed apart: it comes before `new`.
import { cell, counted, ms, table, times } from '../format.mjs'
import { copyOf, newLocation, removeLocation, spawn } from '../procs.mjs'
import { interleave, ratios, series } from '../stats.mjs'

const SUBJECTS = ['classic-level', 'ours leader', 'ours follower', 'upstream leader', 'upstream follower']

async function template() {
  const location = newLocation()
  const worker = await spawn()
  try {
    await worker.call('open', { impl: 'classic', location })
    await worker.call('populate', { n: 1_000 })
    await worker.call('close')
  } finally {
    await worker.stop()
  }
  return location
}

async function measure(subject, source) {
  const [name, role] = subject.split(' ')
  const impl = name === 'classic-level' ? 'classic' : name
  const location = copyOf(source)
  const workers = []
  try {
    if (role === 'follower') {
      const leader = await spawn()
      workers.push(leader)
      await leader.call('open', { impl, location, role: 'leader' })
    }
    const worker = await spawn()
    workers.push(worker)
    return await worker.call('startup', { impl, location, role })
  } finally {
    for (const worker of workers.reverse()) await worker.stop()
    removeLocation(location)
  }
}

export async function run(config) {
  const source = await template()
  return interleave('startup', config.startups, SUBJECTS, (subject) => measure(subject, source))
}

export function report(samples, config) {
  const classic = series(samples, 'classic-level', 'open')
  return [
    table(
      `start-up in a fresh process: new → first resolved get (ms; median [min-max] of ${counted(config.startups, 'round')})`,
      ['new → get', '/ classic-level', 'import'],
      SUBJECTS.map((s) => [
        s,
        cell(series(samples, s, 'open'), ms),
        cell(ratios(series(samples, s, 'open'), classic), times),
        cell(series(samples, s, 'import'), ms)
      ])
    )
  ]
}
