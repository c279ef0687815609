import { describe, expect, test } from 'vitest'
import { Backoff, backoffDelay } from '../src/backoff.js'

describe('backoffDelay', () => {
  test('doubles from min and stays in the upper half of each step', () => {
    expect(backoffDelay(0, 1, 100, () => 0)).toBe(0.5)
    expect(backoffDelay(0, 1, 100, () => 1)).toBe(1)
    expect(backoffDelay(3, 1, 100, () => 0)).toBe(4)
    expect(backoffDelay(3, 1, 100, () => 0.5)).toBe(6)
  })

  test('is capped at max', () => {
    expect(backoffDelay(7, 1, 100, () => 1)).toBe(100)
    expect(backoffDelay(7, 1, 100, () => 0)).toBe(50)
    expect(backoffDelay(5000, 1, 100, () => 1)).toBe(100)
  })

  test('is always within [step / 2, step]', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const step = Math.min(100, 2 ** attempt)
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, 1, 100)
        expect(delay).toBeGreaterThanOrEqual(step / 2)
        expect(delay).toBeLessThanOrEqual(step)
      }
    }
  })
})

describe('Backoff', () => {
  test('counts failures until the cap and resets', () => {
    const backoff = new Backoff(1, 100, () => 1)
    const delays = Array.from({ length: 10 }, () => backoff.next())
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 64, 100, 100, 100])
    backoff.reset()
    expect(backoff.next()).toBe(1)
  })

  test('never produces NaN or Infinity, even with a zero min or after many failures', () => {
    const zero = new Backoff(0, 100, () => 1)
    const capped = new Backoff(1, 100, () => 1)
    for (let i = 0; i < 5000; i++) {
      expect(zero.next()).toBe(0)
      expect(Number.isFinite(capped.next())).toBe(true)
    }
    expect(capped.next()).toBe(100)
  })
})
