// One demo worker, in its own process: takes orders as fast as the database acknowledges them.
// For each order it writes it (put), reads it back (get), and every 20 orders scans its 10
// newest orders newest first (an iterator); each read must return exactly what was written.
// It reports counts to the coordinator a few times a second, and each time it is elected.
// argv: <location> <worker name> <run id>
import { setTimeout as sleep } from 'node:timers/promises'
import { RaveLevel } from 'rave-level'
import { isOrder, order, orderKey, orderPrefix } from './orders.mjs'

const [location, name, run] = process.argv.slice(2)
const SCAN_EVERY = 20
const SCAN_SIZE = 10

// Ctrl-C reaches every process of the terminal's group: the coordinator decides when workers
// stop. Should the coordinator itself die, the IPC channel closes and the worker exits.
// The imports above take a moment: if the coordinator died meanwhile, 'disconnect' has passed.
process.on('SIGINT', () => {})
process.on('disconnect', () => process.exit(0))
if (!process.connected) process.exit(0)

const db = new RaveLevel(location, { valueEncoding: 'json' })
const stats = { orders: 0, reads: 0, scans: 0, acked: -1 }
let stopping = false
let failed = false

const send = (message) => process.connected && process.send(message)
const report = () => send({ type: 'stats', ...stats, role: failed ? 'failed' : db.role })
db.on('leader', () => send({ type: 'leader', at: Date.now() }))
process.on('message', (message) => {
  if (message === 'stop') stopping = true
})
const reporter = setInterval(report, 250)

/** Report a problem; a failed operation also ends the loop (the run has failed anyway). */
function problem(kind, detail, err) {
  send({ type: 'problem', kind, detail: err ? `${detail}: ${err.code ?? ''} ${err.message}` : detail })
  if (kind === 'failed') failed = true
}

for (let seq = 0; !stopping && !failed && process.connected; seq++) {
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
      if (keys.join() !== want.join()) problem('inconsistent', `scan of ${prefix} saw ${keys[0]} … ${keys.at(-1)} (${keys.length} keys)`)
    }
  } catch (err) {
    problem('failed', `order ${key}`, err)
  }
  // A short pause keeps a few workers from taking every core of a small machine.
  await sleep(1)
}

clearInterval(reporter)
await db.close()
report()
send({ type: 'closed' })
process.disconnect()
