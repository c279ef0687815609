// The final check: with every worker gone, a fresh instance (it becomes the leader) reads back
// every order a worker reported as acknowledged and compares it with what was written.
import { RaveLevel } from 'rave-level'
import { isOrder, orderKey, runPrefix } from './orders.mjs'

const CHUNK = 1000

/**
 * Read every acknowledged order. A worker writes its orders one after another, so its last
 * acknowledged number says that all before it were acknowledged too.
 * @param acked Map of worker name → number of its last acknowledged order (-1: none).
 * Also count every order of this run in the database (`stored`): more than were acknowledged
 * when orders were applied whose acknowledgement the coordinator never heard of.
 * @returns `{ checked, missing, wrong, stored }`; `missing` and `wrong` are lists of keys.
 */
export async function verifyOrders(location, run, acked) {
  const db = new RaveLevel(location, { valueEncoding: 'json' })
  const result = { checked: 0, missing: [], wrong: [], stored: 0 }
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
    const prefix = runPrefix(run)
    for await (const _ of db.keys({ gte: prefix, lt: `${prefix}~` })) result.stored++
  } finally {
    await db.close()
  }
  return result
}
