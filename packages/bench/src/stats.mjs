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

/**
 * Rounds in which every subject is up at once (`setUp(subject)` resolves to `{ stop() }` and
 * whatever `slice` needs) and the timed work is cut into slices that the subjects take in turn:
 * for each phase, `chunks` times, every subject runs `slice(up, phase, chunk)` (resolving to
 * `{ count, seconds }`, and optionally `cpu`: ms of CPU by process name), in an order rotated by
 * one each time. Neighbouring slices, a fraction of a second apart, share the machine's mood, so
 * that the ratios between subjects hold even when other work on the machine comes and goes.
 * Returns, per subject, per round, the rate of each phase (every count of the phase over every
 * second of it; a phase in which the subject counted nothing is left out), and the CPU µs per
 * operation of each process named in `cpu` (under {@link cpuKey}).
 */
export async function alternate(label, rounds, subjects, { phases, chunks, setUp, slice }) {
  const samples = Object.fromEntries(subjects.map((s) => [s, []]))
  let turn = 0
  for (let r = 0; r < rounds; r++) {
    progress(`${label}: round ${r + 1}/${rounds}`)
    const ups = []
    try {
      // Set up in parallel (forks use both cores); what did come up is stopped even if some failed.
      const settled = await Promise.allSettled(subjects.map(setUp))
      for (const result of settled) if (result.status === 'fulfilled') ups.push(result.value)
      const failed = settled.find((result) => result.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      const totals = subjects.map(() =>
        Object.fromEntries(phases.map((phase) => [phase, { count: 0, seconds: 0, cpu: {} }]))
      )
      for (const phase of phases) {
        for (let c = 0; c < chunks; c++, turn++) {
          for (let k = 0; k < subjects.length; k++) {
            const i = (turn + k) % subjects.length
            const { count, seconds, cpu } = await slice(ups[i], phase, c, subjects[i])
            const total = totals[i][phase]
            total.count += count
            total.seconds += seconds
            for (const [process, ms] of Object.entries(cpu ?? {})) total.cpu[process] = (total.cpu[process] ?? 0) + ms
          }
        }
      }
      subjects.forEach((subject, i) => {
        const sample = {}
        for (const phase of phases) {
          const { count, seconds, cpu } = totals[i][phase]
          if (count === 0) continue
          sample[phase] = count / seconds
          for (const [process, ms] of Object.entries(cpu)) sample[cpuKey(phase, process)] = (ms * 1000) / count
        }
        samples[subject][r] = sample
      })
    } finally {
      for (const up of ups) await up.stop()
    }
  }
  return samples
}

/** The key under which {@link alternate} keeps `process`'s CPU µs per operation in `phase`. */
export const cpuKey = (phase, process) => `${phase}: cpu ${process}`

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
