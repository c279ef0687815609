// One demo worker, in its own process: opens the shared database and does its activity (taking
// orders, see take-orders.mjs) until the coordinator says stop. It reports its counts a few
// times a second, and each time it is elected leader.
// argv: <location> <worker name> <run id> [activity, default 'orders']
import { RaveLevel } from 'rave-level'
import { takeOrders } from './take-orders.mjs'
import { watchOrders } from './watch-orders.mjs'

// What a worker can do, started by the coordinator with its name as the fourth argument.
// Every worker also watches all orders (watch-orders.mjs).
const ACTIVITIES = { orders: takeOrders }

const [location, name, run, activity = 'orders'] = process.argv.slice(2)

// Ctrl-C and a closed terminal signal every process of the terminal's group: the coordinator
// decides when workers stop. Should the coordinator itself die, the IPC channel closes and the
// worker exits. The imports above take a moment: if it died meanwhile, 'disconnect' has passed.
process.on('SIGINT', () => {})
process.on('SIGHUP', () => {})
process.on('disconnect', () => process.exit(0))
if (!process.connected) process.exit(0)

const db = new RaveLevel(location, { valueEncoding: 'json' })
const stats = { orders: 0, reads: 0, scans: 0, acked: -1, seen: 0, gaps: 0 }
let stopping = false
let failed = false

const send = (message) => process.connected && process.send(message)
const report = () => send({ type: 'stats', ...stats, role: failed ? 'failed' : db.role })
db.on('leader', () => send({ type: 'leader', at: Date.now() }))
process.on('message', (message) => {
  if (message === 'stop') stopping = true
})
const reporter = setInterval(report, 250)

/** Report a problem; a failed operation also ends the activity (the run has failed anyway). */
function problem(kind, detail, err) {
  send({ type: 'problem', kind, detail: err ? `${detail}: ${err.code ?? ''} ${err.message}` : detail })
  if (kind === 'failed') failed = true
}

const stopWatching = new AbortController()
let watching = Promise.resolve()
try {
  watching = (await watchOrders({ db, run, stats, problem, signal: stopWatching.signal })).ended
} catch (err) {
  problem('failed', 'watch', err)
}
await ACTIVITIES[activity]({ db, name, run, stats, problem, running: () => !stopping && !failed && process.connected })
stopWatching.abort()
await watching

clearInterval(reporter)
await db.close()
report()
send({ type: 'closed' })
process.disconnect()
