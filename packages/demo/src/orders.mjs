// What the demo's workers write: orders of a small café, one key per order. Each order's value
// follows from who wrote it and its number, so the final check knows what every acknowledged
// order must hold without the workers reporting values.

const ITEMS = ['espresso', 'flat white', 'green tea', 'croissant', 'bagel', 'orange juice', 'muffin', 'sourdough']

/** The key prefix of every order of one run: `orders/<run>/`. */
export function runPrefix(run) {
  return `orders/${run}/`
}

/** The key prefix of one worker's orders in one run: `orders/<run>/<worker>/`. */
export function orderPrefix(run, worker) {
  return `${runPrefix(run)}${worker}/`
}

/** The key of order number `seq` of `worker`; zero-padded, so that keys sort by number. */
export function orderKey(run, worker, seq) {
  return `${orderPrefix(run, worker)}${String(seq).padStart(7, '0')}`
}

/** The value of order number `seq` of `worker`. */
export function order(worker, seq) {
  return {
    id: `${worker}-${seq}`,
    item: ITEMS[(seq * 5 + worker.length) % ITEMS.length],
    qty: 1 + (seq % 3),
    cents: 250 + ((seq * 37) % 400)
  }
}

/** Whether `value`, as read back, is exactly order `seq` of `worker`. */
export function isOrder(value, worker, seq) {
  return JSON.stringify(value) === JSON.stringify(order(worker, seq))
}
