// The bounds of this machine, measured in the same run as the subjects they bound (sequential
// and iterate interleave them with their subjects): what a follower could reach at best.
import { cell, rate, table } from '../format.mjs'
import { series } from '../stats.mjs'
import { MODES } from './iterate.mjs'
import { OPS, serialBound } from './sequential.mjs'

export function report({ sequential, iterate }) {
  const rows = []
  if (sequential !== undefined) {
    rows.push(['ping-pong, 40-byte frames (round trips/s)', cell(series(sequential, 'ping-pong', 'roundTrips'), rate)])
    for (const op of OPS)
      rows.push([`classic-level sequential ${op} (ops/s)`, cell(series(sequential, 'classic-level', op), rate)])
    for (const op of OPS)
      rows.push([`serial bound of a follower's ${op} (ops/s)`, cell(serialBound(sequential, op), rate)])
  }
  if (iterate !== undefined) {
    for (const mode of MODES)
      rows.push([`classic-level ${mode} (entries/s)`, cell(series(iterate, 'classic-level', mode), rate)])
  }
  return [
    table(
      'bounds of this machine, measured in this run; serial bound = 1 / (1/ping-pong + 1/classic-level)',
      ['median [min-max]'],
      rows
    )
  ]
}
