// What every worker also does, next to taking orders: watch the orders of every worker, as a
// kitchen display would (db.watch(), rave-level's change feed across processes). The feed must
// hold each worker's orders in the order they were taken: after order n of a worker, its next
// order seen is n + 1, unless a gap came between (a failover: changes the killed leader
// committed may never have reached us, and a retried order may show again). Anything else is
// a lost or reordered change.
import { runPrefix } from './orders.mjs'

/** The worker and number of an order key `orders/<run>/<worker>/<seq>`. */
function parse(key, prefix) {
  const rest = key.slice(prefix.length)
  const slash = rest.indexOf('/')
  return { worker: rest.slice(0, slash), seq: Number(rest.slice(slash + 1)) }
}

/**
 * Watch the run's orders until `signal` aborts. Counts go to `stats` (`seen`, `gaps`); a change
 * out of order goes to `problem` (kind `feed`). Resolves once the watch is registered with the leader
 * (`ready`), with `{ ended }`, a promise of its end (wrapped: an async function would wait for it).
 */
export async function watchOrders({ db, run, stats, problem, signal }) {
  const prefix = runPrefix(run)
  const changes = db.watch({ gte: prefix, lt: `${prefix}~`, values: false, signal })
  await changes.ready
  const done = (async () => {
    const last = new Map()
    try {
      for await (const change of changes) {
        if (change.type === 'gap') {
          stats.gaps++
          last.clear()
          continue
        }
        stats.seen++
        const { worker, seq } = parse(change.key, prefix)
        const before = last.get(worker)
        if (change.type !== 'put' || (before !== undefined && seq !== before + 1)) {
          problem('feed', `the feed showed ${change.type} ${change.key} after order ${before} of ${worker}`)
        }
        last.set(worker, seq)
      }
    } catch (err) {
      if (!signal.aborted) problem('failed', 'watch', err)
    }
  })()
  return { ended: done }
}
