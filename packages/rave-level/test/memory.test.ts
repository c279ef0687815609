// What flooding followers cost the leader, in memory (not time): the leader's resident set is
// sampled while followers in other processes issue 100,000 un-awaited 1 KiB puts each.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, Peer, peakRss, tempDir } from './helpers.js'

afterEach(cleanup)

const MiB = 1024 * 1024

async function flood(followers: number) {
  const location = tempDir()
  const leader = new Peer(location)
  await leader.event('leader')
  const peers = Array.from({ length: followers }, () => new Peer(location))
  // Warm up: connections, JIT, LevelDB's memtable; then the baseline.
  await Promise.all(peers.map((p, i) => p.call('flood', `warm${i}`, 2000, 1024)))
  const before = await leader.call('rss')
  const peak = await peakRss(leader, Promise.all(peers.map((p, i) => p.call('flood', `f${i}`, 100_000, 1024))))
  const growth = (peak - before) / MiB
  console.log(
    `leader RSS with ${followers} flooding follower(s): ${(before / MiB).toFixed(1)} MiB before, peak +${growth.toFixed(1)} MiB`
  )
  return growth
}

describe('the leader’s memory under flooding followers', () => {
  it('grows by at most 48 MiB for one follower flooding 100,000 un-awaited 1 KiB puts', async () => {
    expect(await flood(1)).toBeLessThanOrEqual(48)
  }, 120_000)

  it('grows by at most 96 MiB for three flooding at once', async () => {
    expect(await flood(3)).toBeLessThanOrEqual(96)
  }, 180_000)
})
