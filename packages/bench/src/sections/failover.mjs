// Failover: SIGKILL of the leader to the first resolved get on a follower, timed inside the
// follower (it sends the signal itself, so that one clock and no IPC hop is in the figure). The
// follower is the only other process, so it is elected. Each round has a fresh leader process and
// database (forked a few at a time beforehand, idle until its round); the follower process lives
// on from round to round, as an application would.
// Interleaved with them, the floor: a bare process that only listens on a unix socket, SIGKILLed
// by a client that times until its connection closes (the kernel tearing the process down).
import { counted, ms, table, times } from '../format.mjs'
import { newLocation, removeLocation, spares, spawn } from '../procs.mjs'
import { interleave, percentile, series, summary } from '../stats.mjs'

export const IMPLS = ['upstream', 'ours']
const FLOOR = 'kill → close (floor)'

export async function run(config) {
  const survivors = {}
  const leaders = spares(Math.min(8, config.failovers * (IMPLS.length + 1)))
  try {
    return await interleave('failover', config.failovers, [...IMPLS, FLOOR], async (subject) => {
      const location = newLocation()
      const [leader, survivor] = await Promise.all([leaders.take(), (survivors[subject] ??= spawn())])
      try {
        if (subject === FLOOR) {
          await leader.call('echo', { path: location })
          return await survivor.call('killToClose', { path: location, pid: leader.pid })
        }
        await leader.call('open', { impl: subject, location, role: 'leader' })
        await survivor.call('open', { impl: subject, location, role: 'follower' })
        const result = await survivor.call('failover', { pid: leader.pid })
        await survivor.call('close')
        return result
      } finally {
        await leader.stop()
        removeLocation(location)
      }
    })
  } finally {
    await leaders.stop()
    for (const survivor of Object.values(survivors)) await (await survivor).stop()
  }
}

export function report(samples, config) {
  const rows = [...IMPLS, FLOOR].map((subject) => {
    const xs = series(samples, subject, 'ms')
    const { median, min, max } = summary(xs)
    return [subject, ms(median), `${ms(min)}-${ms(max)}`, ms(percentile(xs, 95)), ms(percentile(xs, 99))]
  })
  const [upstream, ours] = IMPLS.map((impl) => summary(series(samples, impl, 'ms')).median)
  rows.push(['ours / upstream (medians)', times(ours / upstream), '', '', ''])
  return [
    table(
      `failover: SIGKILL of the leader to the first resolved get on the follower (ms; ${counted(config.failovers, 'round')} each)`,
      ['median', 'min-max', 'p95', 'p99'],
      rows
    )
  ]
}
