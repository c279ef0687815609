import { describe, expect, test } from 'vitest'
import { Election, type ElectionOptions } from '../src/index.js'

const valid: ElectionOptions<object> = {
  endpoint: '/tmp/el-never/s',
  acquire: async () => undefined,
  release: async () => {},
  serve: () => {}
}

describe('options', () => {
  test('a new election is idle and has no resource', () => {
    const election = new Election(valid)
    expect(election.role).toBe('idle')
    expect(election.resource).toBe(undefined)
  })

  test('missing or mistyped options are TypeErrors', () => {
    const bad: unknown[] = [
      undefined,
      { ...valid, endpoint: '' },
      { ...valid, endpoint: 42 },
      { ...valid, endpoint: { connect: () => 'x' } },
      { ...valid, endpoint: { connect: () => 'x', listen: () => 'x', published: 'no' } },
      { ...valid, acquire: undefined },
      { ...valid, release: 'close' },
      { ...valid, serve: null },
      { ...valid, follow: {} },
      { ...valid, backoff: null },
      { ...valid, timeout: '10' },
      { ...valid, stalledAfter: Number.NaN }
    ]
    for (const options of bad) {
      expect(() => new Election(options as ElectionOptions<object>)).toThrow(TypeError)
    }
  })

  test('out-of-range numbers are RangeErrors', () => {
    const bad: Array<Partial<ElectionOptions<object>>> = [
      { timeout: -1 },
      { timeout: 0 },
      { stalledAfter: -5 },
      { backoff: { min: -1 } },
      { backoff: { max: Number.POSITIVE_INFINITY } },
      { backoff: { min: 50, max: 10 } }
    ]
    for (const options of bad) {
      expect(() => new Election({ ...valid, ...options })).toThrow(RangeError)
    }
  })

  test('Infinity disables timeout and stalledAfter; a resolver is accepted', () => {
    expect(
      () => new Election({ ...valid, timeout: Number.POSITIVE_INFINITY, stalledAfter: Number.POSITIVE_INFINITY })
    ).not.toThrow()
    expect(() => new Election({ ...valid, endpoint: { connect: () => 'a', listen: async () => 'b' } })).not.toThrow()
  })
})
