// Rounds and the statistics of their samples. Every figure is the median of interleaved rounds,
// shown with its spread (min-max) so that a reader sees the noise of the run.

const sorted = (xs) => xs.slice().sort((a, b) => a - b)

export function median(xs) {
  const s = sorted(xs)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** The nearest-rank percentile `p` (0-100): a value that was measured, never interpolated. */
export function percentile(xs, p) {
  const s = sorted(xs)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

export const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length })

/** a[i] / b[i] for every round i: ratios within a round, where subjects shared the machine's mood. */
export const ratios = (as, bs) => as.map((a, i) => a / bs[i])

/**
 * Run `rounds` rounds of `measure(subject, round)` over every subject, in an order rotated by one
 * each round, so that neither a noisy moment of this shared machine nor a place in the order
 * (first after a fork, last before a compaction) falls on one subject more than on the others.
 * Returns, per subject, the results of its rounds in round order.
 */
export async function interleave(label, rounds, subjects, measure) {
  const samples = Object.fromEntries(subjects.map((s) => [s, []]))
  for (let r = 0; r < rounds; r++) {
    progress(`${label}: round ${r + 1}/${rounds}`)
    for (let k = 0; k < subjects.length; k++) {
      const subject = subjects[(r + k) % subjects.length]
      samples[subject][r] = await measure(subject, r)
    }
  }
  return samples
}

/** One metric of one subject across rounds. */
export const series = (samples, subject, metric) => samples[subject]?.map((result) => result[metric])

/** Progress goes to stderr, so that stdout holds only the report. */
export function progress(line) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`)
  else process.stderr.write(`${line}\n`)
}

export function progressDone() {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K')
}
