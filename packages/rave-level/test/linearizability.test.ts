// The checker itself (linearizability.ts), on hand-made histories: what it must accept and what
// it must refuse. The histories of real processes are checked in cache-linearizable.test.ts.
import { describe, expect, it } from 'vitest'
import { check, checkRegister, type Operation } from './linearizability.js'

const put = (value: string, call: number, ret: number, process = 0): Operation => ({
  process,
  kind: 'put',
  key: 'k',
  value,
  call,
  ret
})
const get = (value: string | undefined, call: number, ret: number, process = 1): Operation => ({
  process,
  kind: 'get',
  key: 'k',
  value,
  call,
  ret
})

describe('the linearizability checker', () => {
  it('accepts sequential and overlapping histories that have a legal order', () => {
    expect(checkRegister([get(undefined, 0, 1), put('a', 2, 3), get('a', 4, 5)])).toBe(true)
    // A read overlapping a write may see either value.
    expect(checkRegister([put('a', 0, 1), put('b', 2, 6), get('a', 3, 4), get('b', 5, 7)])).toBe(true)
    expect(checkRegister([put('a', 0, 10), get(undefined, 1, 2), get('a', 3, 4), get('a', 5, 6)])).toBe(true)
    // Touching intervals count as concurrent.
    expect(checkRegister([put('a', 0, 5), get(undefined, 5, 6)])).toBe(true)
  })

  it('refuses a stale read: one that starts after a write returned and sees the value before it', () => {
    expect(checkRegister([put('a', 0, 1), put('b', 2, 3), get('a', 4, 5)])).toBe(false)
    expect(checkRegister([put('a', 0, 1), get(undefined, 2, 3)])).toBe(false)
  })

  it('refuses reads that go back in time, even when each alone overlaps the write', () => {
    expect(checkRegister([put('a', 0, 1), put('b', 2, 10), get('b', 3, 4), get('a', 5, 6)])).toBe(false)
  })

  it('lets a put that never returned take effect late or never', () => {
    const never = put('b', 2, Number.POSITIVE_INFINITY)
    expect(checkRegister([put('a', 0, 1), never, get('a', 3, 4), get('b', 5, 6)])).toBe(true)
    expect(checkRegister([put('a', 0, 1), never, get('a', 3, 4)])).toBe(true)
    expect(checkRegister([put('a', 0, 1), never, get('b', 3, 4), get('a', 5, 6)])).toBe(false)
  })

  it('lets a put retried across a failover take effect twice, and no more', () => {
    const retried = { ...put('a', 0, 10), twice: true }
    const history = [retried, get('a', 1, 2), put('b', 3, 4, 2), get('b', 5, 6), get('a', 11, 12)]
    expect(check(history).every((v) => v.ok)).toBe(true)
    expect(check(history.map((o) => (o === retried ? { ...o, twice: false } : o))).every((v) => v.ok)).toBe(false)
  })

  it('checks keys apart', () => {
    const other = { ...put('x', 0, 1), key: 'j' }
    const verdicts = check([put('a', 0, 1), put('b', 2, 3), get('a', 4, 5), other])
    expect(verdicts.find((v) => v.key === 'k')?.ok).toBe(false)
    expect(verdicts.find((v) => v.key === 'j')?.ok).toBe(true)
  })

  it('searches long histories quickly: overlapping writers, and 200,000 operations', () => {
    // Each put overlaps the next one's (step 2) or not (step 4); each read sees its put.
    const history = (n: number, step: number): Operation[] =>
      Array.from({ length: n }, (_, i) => [
        put(`v${i}`, i * step, i * step + 3, i % 3),
        get(`v${i}`, i * step + 2, i * step + 5, 3 + (i % 2))
      ]).flat()
    expect(checkRegister(history(400, 2))).toBe(true)
    const long = history(100_000, 4)
    expect(checkRegister(long)).toBe(true)
    long.push(get('v5', 400_010, 400_011))
    expect(checkRegister(long)).toBe(false)
  })
})
