// What an order-taking worker does: for each order, write it (put) and read it back (get); every
// 20 orders, scan its 10 newest orders newest first (an iterator). Every read must return
// exactly what was written.
import { setTimeout as sleep } from 'node:timers/promises'
import { isOrder, order, orderKey, orderPrefix } from './orders.mjs'

const SCAN_EVERY = 20
const SCAN_SIZE = 10

/**
 * Take orders until `running()` turns false. Counts go to `stats` (`orders`, `reads`, `scans`,
 * and `acked`, the number of the last acknowledged order); anything wrong goes to `problem`.
 */
export async function takeOrders({ db, name, run, stats, problem, running }) {
  for (let seq = 0; running(); seq++) {
    const key = orderKey(run, name, seq)
    try {
      await db.put(key, order(name, seq))
      stats.orders++
      stats.acked = seq

      const value = await db.get(key)
      stats.reads++
      if (!isOrder(value, name, seq)) problem('inconsistent', `get ${key} returned ${JSON.stringify(value)}`)

      if (seq % SCAN_EVERY === SCAN_EVERY - 1) {
        const prefix = orderPrefix(run, name)
        const keys = await db.keys({ gte: prefix, lt: `${prefix}~`, reverse: true, limit: SCAN_SIZE }).all()
        stats.scans++
        const want = Array.from({ length: SCAN_SIZE }, (_, i) => orderKey(run, name, seq - i))
        if (keys.join() !== want.join())
          problem('inconsistent', `scan of ${prefix} saw ${keys[0]} … ${keys.at(-1)} (${keys.length} keys)`)
      }
    } catch (err) {
      problem('failed', `order ${key}`, err)
    }
    // A short pause keeps a few workers from taking every core of a small machine.
    await sleep(1)
  }
}
