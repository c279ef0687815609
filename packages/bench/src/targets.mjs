// The targets of issues 14 (items 2-5), 12 (the change feed), 22 (the follower cache) and 23 (remote followers), each computed from this run's samples: a target is met
// when the median of its per-round ratios is on the right side of the threshold.
import { cell, table } from './format.mjs'
import { figure } from './sections/cached.mjs'
import { MODES } from './sections/iterate.mjs'
import { OPS, serialBound } from './sections/sequential.mjs'
import { WATCHERS } from './sections/watch.mjs'
import { aggregate, WRITERS } from './sections/writers.mjs'
import { median, ratios, series, summary } from './stats.mjs'

/** Every target: [section, what, threshold, 'at least' | 'at most', per-round values(results)]. */
const TARGETS = [
  ...OPS.flatMap((op) => [
    [
      'sequential',
      `follower sequential ${op} / serial bound`,
      0.7,
      'at least',
      (s) => ratios(series(s, 'ours follower', op), serialBound(s, op))
    ],
    [
      'sequential',
      `follower sequential ${op} / upstream`,
      1,
      'at least',
      (s) => ratios(series(s, 'ours follower', op), series(s, 'upstream follower', op))
    ]
  ]),
  ...MODES.map((mode) => [
    'iterate',
    `follower ${mode} / classic-level`,
    0.5,
    'at least',
    (s) => ratios(series(s, 'ours follower', mode), series(s, 'classic-level', mode))
  ]),
  [
    'writers',
    `${WRITERS} sequential writers / 1`,
    2,
    'at least',
    (s) => ratios(aggregate(s, 'ours', 'sequential', WRITERS), aggregate(s, 'ours', 'sequential', 1))
  ],
  [
    'writers',
    `${WRITERS} sequential writers / upstream's`,
    2,
    'at least',
    (s) => ratios(aggregate(s, 'ours', 'sequential', WRITERS), aggregate(s, 'upstream', 'sequential', WRITERS))
  ],
  [
    'writers',
    `${WRITERS} pipelined writers / 1`,
    1,
    'at least',
    (s) => ratios(aggregate(s, 'ours', 'pipelined', WRITERS), aggregate(s, 'ours', 'pipelined', 1))
  ],
  [
    'writers',
    `${WRITERS} pipelined writers / upstream's`,
    3,
    'at least',
    (s) => ratios(aggregate(s, 'ours', 'pipelined', WRITERS), aggregate(s, 'upstream', 'pipelined', WRITERS))
  ],
  // Failover times are not paired by round (each kill is its own event): the ratio of medians.
  [
    'failover',
    'failover median / upstream',
    0.7,
    'at most',
    (s) => [median(series(s, 'ours', 'ms')) / median(series(s, 'upstream', 'ms'))]
  ],
  // Issue 12's targets for the change feed.
  [
    'watch',
    'watch latency p50 (put acknowledged -> change) / round trip',
    2,
    'at most',
    (s) => ratios(series(s, 'latency', 'ackP50'), series(s, 'latency', 'roundTrip'))
  ],
  [
    'watch',
    `pipelined writes with ${WATCHERS} watchers / none`,
    0.8,
    'at least',
    (s) => ratios(series(s, `watchers x${WATCHERS}`, 'rate'), series(s, 'watchers x0', 'rate'))
  ],
  // Issue 23's targets: a remote follower over TLS on loopback against one over the unix socket.
  ...['put', 'get'].flatMap((op) => [
    [
      'remote',
      `TLS follower sequential ${op} / unix socket`,
      0.8,
      'at least',
      (s) => ratios(series(s, 'TLS follower', `sequential ${op}`), series(s, 'unix follower', `sequential ${op}`))
    ],
    [
      'remote',
      `TLS follower pipelined ${op} / unix socket`,
      0.7,
      'at least',
      (s) => ratios(series(s, 'TLS follower', `pipelined ${op}`), series(s, 'unix follower', `pipelined ${op}`))
    ]
  ]),
  // Issue 22's targets for the follower cache.
  [
    'cached',
    'cached gets, zipf 1% writes / lmdb-js',
    0.5,
    'at least',
    (s) => ratios(figure(s, 'ours cached', 'zipf 1%', 'gets'), figure(s, 'lmdb', 'zipf 1%', 'gets'))
  ],
  [
    'cached',
    'cached gets, zipf 1% writes / uncached',
    10,
    'at least',
    (s) => ratios(figure(s, 'ours cached', 'zipf 1%', 'gets'), figure(s, 'ours', 'zipf 1%', 'gets'))
  ],
  [
    'cached',
    'put speed with the cache on / off (puts only)',
    0.8,
    'at least',
    (s) => ratios(figure(s, 'ours', 'puts only', 'putMs'), figure(s, 'ours cached', 'puts only', 'putMs'))
  ]
]

/** [{ section, what, target, values, met }] for the sections that ran; `met` is computed. */
export function evaluate(results) {
  return TARGETS.filter(([section]) => results[section] !== undefined).map(
    ([section, what, threshold, side, values]) => {
      const xs = values(results[section])
      const m = summary(xs).median
      return {
        section,
        what,
        threshold,
        target: `${side === 'at least' ? '>=' : '<='} ${threshold}`,
        values: xs,
        met: side === 'at least' ? m >= threshold : m <= threshold
      }
    }
  )
}

/**
 * Each target as shown: `{ section, what, target, shown, met }`, where `shown` is "median
 * [min-max]" of the per-round values. A median that rounds to the threshold (0.4998 for >= 0.5)
 * gets more digits, so that the figure shown agrees with the verdict.
 */
export function verdicts(results) {
  return evaluate(results).map(({ section, what, threshold, target, values, met }) => {
    const m = summary(values).median
    let digits = 2
    while (digits < 6 && m !== threshold && Number(m.toFixed(digits)) === threshold) digits++
    const unit = (x) => x.toFixed(digits) + (what.includes('bound') ? '' : 'x')
    return { section, what, target, shown: cell(values, unit), met }
  })
}

export function report(results) {
  const rows = verdicts(results).map(({ what, target, shown, met }) => [what, target, shown, met ? 'met' : 'NOT MET'])
  if (rows.length === 0) return []
  return [
    table(
      'targets of issues 12, 14, 22 and 23 (ours; judged on the median of per-round ratios)',
      ['target', 'this run', ''],
      rows
    )
  ]
}
