// A singleton job: a scheduler that must fire once per period (a minute by default), exactly
// once, however many copies of it run and whichever of them dies, on any machine that reaches
// etcd. The copies elect a leader with a LeaseElection; only the leader fires, and it records
// each firing in the fenced job log (examples/fenced-log.mjs) with its fencing token, so that a
// leader that was replaced without knowing it (paused, cut off from etcd) cannot fire as well.
//
//   node examples/scheduler.mjs [--etcd http://127.0.0.1:2379] [--host 127.0.0.1]
//                               [--log-host 127.0.0.1] [--log-port 7400]
//                               [--period 60] [--ttl 10] [--demo]
//
// --host is the address this copy serves its handshake on and publishes when it leads (one the
// other copies can reach); --log-host and --log-port say where the job log is.
//
// --demo fires every 3 s (unless --period says otherwise) with a 2 s lease (unless --ttl says
// otherwise), to watch failovers without waiting for minutes. The period is in seconds and may
// be a fraction.
import { parseArgs } from 'node:util'
import { LeaseElection } from '@rave-level/election/lease'
import { connectFencedLog } from './fenced-log.mjs'
import { confirmLeader, serveHandshake } from './handshake.mjs'

const { values } = parseArgs({
  options: {
    etcd: { type: 'string', default: 'http://127.0.0.1:2379' },
    host: { type: 'string', default: '127.0.0.1' },
    'log-host': { type: 'string', default: '127.0.0.1' },
    'log-port': { type: 'string', default: '7400' },
    period: { type: 'string' },
    ttl: { type: 'string' },
    demo: { type: 'boolean', default: false }
  }
})
const period = Number(values.period ?? (values.demo ? 3 : 60)) * 1000
const ttl = Number(values.ttl ?? (values.demo ? 2 : 10))
const say = (text) => console.log(`[${process.pid}] ${text}`)

// Every copy serves the handshake endpoint (examples/handshake.mjs); the leader's is the
// election's value.
const { endpoint, server } = await serveHandshake(() => election.leadership, values.host)

const log = connectFencedLog(Number(values['log-port']), values['log-host'])
const election = new LeaseElection({ etcd: { hosts: values.etcd }, name: 'scheduler', value: endpoint, ttl })

election.on('leader', (leadership) => {
  say(`leads with token ${leadership.token}, serving ${leadership.value}`)
  let timer
  const fire = async () => {
    // The slot is named by the wall clock, which every machine shares (roughly); the job log
    // makes a slot fire once even when two leaders in a row both try it around a failover.
    const slot = new Date(Math.floor(Date.now() / period) * period).toISOString()
    if (leadership.valid) {
      try {
        say(`slot ${slot}: ${await log.append(leadership.token, `slot-${slot}`, `fired-by-${process.pid}`)}`)
      } catch (err) {
        say(`slot ${slot}: the job log failed: ${err.message}`)
      }
    }
    if (!leadership.signal.aborted) timer = setTimeout(fire, period - (Date.now() % period))
  }
  leadership.signal.addEventListener('abort', () => {
    clearTimeout(timer)
    say(`stops leading (${leadership.signal.reason.code ?? 'resigned'})`)
  })
  void fire()
})

election.on('follower', async (leader) => {
  const { confirmed, pid } = await confirmLeader(election, leader)
  if (confirmed) say(`follows ${pid} (token ${leader.token})`)
})
election.on('lost', (err) => say(`lost the lease: ${err.code}`))
election.on('stalled', ({ elapsed }) => say(`no leader for ${elapsed} ms: is etcd reachable?`))
election.on('error', (err) => say(`${err.code} (${err.stage}): ${err.cause?.message}`))
election.start()

process.once('SIGINT', async () => {
  await election.close()
  log.close()
  server.close()
})
