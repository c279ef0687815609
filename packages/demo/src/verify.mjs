// The final check: with every worker gone, a fresh instance (it becomes the leader) reads back
// every order a worker reported as acknowledged and compares it with what was written.
import { RaveLevel } from 'rave-level'
import { isOrder, orderKey } from './orders.mjs'

const CHUNK = 1000

/**
 * Read every acknowledged order. A worker writes its orders one after another, so its last
 * acknowledged number says that all before it were acknowledged too.
 * @param acked Map of worker name → number of its last acknowledged order (-1: none).
 * @returns `{ checked, missing, wrong }`, the last two lists of keys.
 */
export async function verifyOrders(location, run, acked) {
  const db = new RaveLevel(location, { valueEncoding: 'json' })
  const result = { checked: 0, missing: [], wrong: [] }
  try {
    for (const [worker, last] of acked) {
      for (let from = 0; from <= last; from += CHUNK) {
        const seqs = Array.from({ length: Math.min(CHUNK, last + 1 - from) }, (_, i) => from + i)
        const keys = seqs.map((seq) => orderKey(run, worker, seq))
        const values = await db.getMany(keys)
        seqs.forEach((seq, i) => {
          result.checked++
          if (values[i] === undefined) result.missing.push(keys[i])
          else if (!isOrder(values[i], worker, seq)) result.wrong.push(keys[i])
        })
      }
    }
  } finally {
    await db.close()
  }
  return result
}
