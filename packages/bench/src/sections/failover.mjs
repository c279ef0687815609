// Failover: SIGKILL of the leader to the first resolved get on a follower, timed inside the
// follower (it sends the signal itself, so that one clock and no IPC hop is in the figure). The
// follower is the only other process, so it is elected. Each round has a fresh leader process and
// database; the follower process lives on from round to round, as an application would.
import { ms, table, times } from '../format.mjs'
import { newLocation, removeLocation, spawn } from '../procs.mjs'
import { interleave, percentile, series, summary } from '../stats.mjs'

export const IMPLS = ['upstream', 'ours']

export async function run(config) {
  const followers = {}
  try {
    return await interleave('failover', config.failovers, IMPLS, async (impl) => {
      const location = newLocation()
      const [leader, follower] = await Promise.all([spawn(), (followers[impl] ??= spawn())])
      try {
        await leader.call('open', { impl, location, role: 'leader' })
        await follower.call('open', { impl, location, role: 'follower' })
        const result = await follower.call('failover', { pid: leader.pid })
        await follower.call('close')
        return result
      } finally {
        await leader.stop()
        removeLocation(location)
      }
    })
  } finally {
    for (const follower of Object.values(followers)) await (await follower).stop()
  }
}

export function report(samples, config) {
  const rows = IMPLS.map((impl) => {
    const xs = series(samples, impl, 'ms')
    const { median, min, max } = summary(xs)
    return [impl, ms(median), `${ms(min)}-${ms(max)}`, ms(percentile(xs, 95)), ms(percentile(xs, 99))]
  })
  const [upstream, ours] = IMPLS.map((impl) => summary(series(samples, impl, 'ms')).median)
  rows.push(['ours / upstream', times(ours / upstream), '', '', ''])
  return [
    table(
      `failover: SIGKILL of the leader to the first resolved get on the follower (ms; ${config.failovers} rounds each)`,
      ['median', 'min-max', 'p95', 'p99'],
      rows
    )
  ]
}
