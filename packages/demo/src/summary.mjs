// What a run proved: the checks that decide the exit code, and the summary that states them.
import { count, durations, plural } from './format.mjs'

const SHOW = 5
const some = (list) =>
  `${list.slice(0, SHOW).join(', ')}${list.length > SHOW ? `, … (${list.length - SHOW} more)` : ''}`

/**
 * The checks of a run, each `{ ok, text }`. What counts: every acknowledged order is in the
 * database with its value, every read matched, every watch saw each worker's orders in order
 * (between gaps), no operation failed, every planned SIGKILL
 * happened and was followed by a new leader, and no worker died otherwise. Elections while the
 * workers stop at the end are hand-overs, not failures, and are not counted against the run.
 */
export function checks({ cluster, verification, plannedKills }) {
  const { checked, missing, wrong } = verification
  const failed = cluster.problems.filter((p) => p.kind === 'failed')
  const inconsistent = cluster.problems.filter((p) => p.kind === 'inconsistent')
  const feed = cluster.problems.filter((p) => p.kind === 'feed')
  const orphans = cluster.kills.filter((kill) => kill.next === undefined)
  const totals = cluster.totals()
  return [
    {
      ok: checked > 0 && missing.length === 0 && wrong.length === 0,
      text:
        checked === 0
          ? 'no order was acknowledged, so nothing could be verified'
          : missing.length + wrong.length === 0
            ? `all ${plural(checked, 'acknowledged order')} are in the database, with the values written`
            : `${count(missing.length)} acknowledged orders missing${missing.length ? ` (${some(missing)})` : ''}, ${count(wrong.length)} with a wrong value${wrong.length ? ` (${some(wrong)})` : ''}, of ${count(checked)}`
    },
    {
      ok: inconsistent.length === 0,
      text:
        inconsistent.length === 0
          ? `every read returned what was written (${plural(totals.reads, 'read')}, ${plural(totals.scans, 'scan')})`
          : `${inconsistent.length} inconsistent reads: ${some(inconsistent.map((p) => `${p.worker}: ${p.detail}`))}`
    },
    {
      ok: feed.length === 0 && totals.seen > 0,
      text:
        feed.length > 0
          ? `${feed.length} changes out of order in the watches: ${some(feed.map((p) => `${p.worker}: ${p.detail}`))}`
          : totals.seen === 0
            ? 'the watches saw no change'
            : `every watch saw each worker's orders in order (${plural(totals.seen, 'change')}, ${plural(totals.gaps, 'gap')} at failovers)`
    },
    {
      ok: failed.length === 0,
      text:
        failed.length === 0
          ? 'no operation failed'
          : `${failed.length} operations failed: ${some(failed.map((p) => `${p.worker}: ${p.detail}`))}`
    },
    {
      ok: cluster.kills.length >= plannedKills && orphans.length === 0,
      text:
        cluster.kills.length < plannedKills
          ? `only ${cluster.kills.length} of ${plannedKills} planned leader kills happened (no leader to kill in time)`
          : orphans.length > 0
            ? `no new leader after the SIGKILL of ${orphans.map((kill) => kill.name).join(', ')}`
            : plannedKills === 0
              ? 'no leader kills were planned (--kill-every 0)'
              : `${plural(cluster.kills.length, 'leader')} killed with SIGKILL (${plannedKills} planned), each followed by a new one`
    },
    {
      ok: cluster.unexpectedExits.length === 0,
      text:
        cluster.unexpectedExits.length === 0
          ? 'no worker died other than by the planned SIGKILLs'
          : `workers died unexpectedly: ${some(cluster.unexpectedExits)}`
    }
  ]
}

/**
 * Why the database may hold more orders than were acknowledged (what `rave-level count` finds
 * afterwards): a worker reports its counts every 250 ms, so a killed leader's last orders are
 * in the database but never reached the coordinator; and a write the leader applied just before
 * it died never got its answer to the worker.
 */
function stored({ stored }, acknowledged) {
  if (stored <= acknowledged) return `${count(stored)}`
  return `${count(stored)}: ${count(stored - acknowledged)} more than acknowledged: written by leaders killed before their acknowledgement was counted`
}

/** The summary printed at the end of a run: what happened, then each check with ✓ or ✗. */
export function summary({ cluster, verification, results, options }) {
  const totals = cluster.totals()
  const started = cluster.workers.size
  const lines = [
    '',
    'Summary',
    `  workers started         ${started} (${options.workers} at once, ${plural(started - options.workers, 'replacement')})`,
    `  leaders elected         ${cluster.elections.length}: ${cluster.elections.map((e) => e.name).join(' → ') || 'none'}`,
    `  failovers               ${durations(cluster.failovers())} (SIGKILL to the next leader)`,
    `  hand-overs at the end   ${cluster.handOvers} (each stopping leader hands over: normal)`,
    `  orders acknowledged     ${count(totals.orders)} (${count(totals.reads)} read back, ${count(totals.scans)} scans)`,
    `  orders in the database  ${stored(verification, totals.orders)}`,
    `  changes watched         ${count(totals.seen)} by the workers' watches, ${plural(totals.gaps, 'gap')} (a failover ends in one)`,
    '',
    'Checks'
  ]
  for (const { ok, text } of results) lines.push(`  ${ok ? '✓' : '✗'} ${text}`)
  const failed = results.filter((check) => !check.ok)
  lines.push('')
  if (failed.length === 0) {
    lines.push(`OK: every acknowledged order survived ${plural(cluster.kills.length, 'SIGKILL')} of the leader.`)
  } else {
    lines.push(`FAILED: ${failed.map((check) => check.text).join('; ')}`)
  }
  return lines
}
