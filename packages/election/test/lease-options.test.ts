import { describe, expect, test } from 'vitest'
import type { ElectionFault } from '../src/index.js'
import { LeaseElection, type LeaseElectionOptions } from '../src/lease.js'
import { freePort, waitFor } from './helpers.js'

const valid: LeaseElectionOptions = { etcd: { hosts: 'http://127.0.0.1:1' }, name: 'jobs', value: 'tcp://127.0.0.1:1' }

describe('lease election options', () => {
  test('a new lease election is idle, with no leadership and no leader', async () => {
    const election = new LeaseElection(valid)
    expect(election.role).toBe('idle')
    expect(election.leadership).toBe(undefined)
    expect(election.leader).toBe(undefined)
    await election.close()
    expect(election.role).toBe('closed')
  })

  test('missing or mistyped options are TypeErrors', () => {
    const bad: unknown[] = [
      undefined,
      { ...valid, etcd: undefined },
      { ...valid, etcd: 'http://127.0.0.1:2379' },
      { ...valid, name: '' },
      { ...valid, value: 42 },
      { ...valid, ttl: 1.5 },
      { ...valid, margin: '100' },
      { ...valid, backoff: null },
      { ...valid, stalledAfter: Number.NaN }
    ]
    for (const options of bad) {
      expect(() => new LeaseElection(options as LeaseElectionOptions)).toThrow(TypeError)
    }
  })

  test('out-of-range numbers are RangeErrors', () => {
    const bad: Array<Partial<LeaseElectionOptions>> = [
      { ttl: 0 },
      { margin: 1000, ttl: 2 },
      { margin: -1 },
      { timeout: 0 },
      { backoff: { min: 50, max: 10 } }
    ]
    for (const options of bad) {
      expect(() => new LeaseElection({ ...valid, ...options })).toThrow(RangeError)
    }
  })
})

describe('lease election without etcd', () => {
  test('etcd unreachable: campaign faults, stalled, timeout; close() resolves', async () => {
    const election = new LeaseElection({
      ...valid,
      etcd: { hosts: `http://127.0.0.1:${await freePort()}` },
      ttl: 2,
      stalledAfter: 100,
      timeout: 300
    })
    const faults: ElectionFault[] = []
    election.on('error', (err) => faults.push(err))
    election.start()
    expect(election.role).toBe('electing')
    const stalled = await waitFor<{ endpoint: string; elapsed: number }>(election, 'stalled')
    expect(stalled.elapsed).toBeGreaterThanOrEqual(100)
    const timeout = await waitFor<Error & { code: string }>(election, 'timeout')
    expect(timeout.code).toBe('LEVEL_LOCKED')
    expect(faults.length).toBeGreaterThan(0)
    expect(faults[0]).toMatchObject({ code: 'LEVEL_ELECTION_FAULT', stage: 'campaign' })
    await election.close()
    expect(election.role).toBe('closed')
  })
})
