// Remote followers (issue 23): ours over TLS and over plain TCP on loopback, against ours over
// the unix socket, in one run. Each subject is a leader process and a follower process; the
// remote ones connect with RaveLevel.connect() and a token (and the CA, for TLS). Sequential
// and pipelined put and get, then iteration over a copy of one compacted database. The subjects
// take turns, a slice each.
import net from 'node:net'
import { credentials } from '../certs.mjs'
import { cell, counted, rate, table, times } from '../format.mjs'
import { copyOf, removeLocation, spawn } from '../procs.mjs'
import { alternate, ratios, series } from '../stats.mjs'
import { template } from './iterate.mjs'

export const SUBJECTS = ['unix follower', 'TCP follower', 'TLS follower']
/** Phases: [name, kind, op or iteration mode]. */
const PHASES = [
  ['sequential put', 'sequential', 'put'],
  ['sequential get', 'sequential', 'get'],
  ['pipelined put', 'pipelined', 'put'],
  ['pipelined get', 'pipelined', 'get'],
  ['iterate, for await', 'iterate', 'for await, keys+values'],
  ['iterate, all()', 'iterate', 'all(), keys+values']
]
export const PHASE_NAMES = PHASES.map(([name]) => name)

async function freePort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A leader process (listening on TCP or TLS for the remote subjects) and a follower process. */
async function openRemoteSubject(subject, location) {
  const [leader, follower] = await Promise.all([spawn(), spawn()])
  const stop = async () => {
    await follower.stop()
    await leader.stop()
    removeLocation(location)
  }
  try {
    const { ca, key, cert, token } = credentials()
    const port = await freePort()
    const tokens = [{ token, access: 'readwrite' }]
    const listen =
      subject === 'TLS follower'
        ? { host: '127.0.0.1', port, tls: { key, cert }, tokens }
        : subject === 'TCP follower'
          ? { host: '127.0.0.1', port, insecure: true, tokens }
          : undefined
    await leader.call('open', { impl: 'ours', location, role: 'leader', options: listen && { listen } })
    if (subject === 'unix follower') {
      await follower.call('open', { impl: 'ours', location, role: 'follower' })
    } else {
      const url = `${subject === 'TLS follower' ? 'tls' : 'tcp'}://127.0.0.1:${port}`
      await follower.call('open', { impl: 'remote', location: url, role: 'follower', options: { token, tls: { ca } } })
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { worker: follower, role: 'follower', stop }
}

export async function run(config) {
  const source = await template(config.entries)
  const { sequential, pipelined, window, entries, chunks } = config
  const size = Math.ceil(sequential / chunks)
  const none = { count: 0, seconds: 0 }
  return alternate('remote', config.rounds, SUBJECTS, {
    phases: PHASE_NAMES,
    chunks,
    async setUp(subject) {
      const up = await openRemoteSubject(subject, copyOf(source))
      await up.worker.call('warm', { ops: ['put', 'get'], n: Math.min(1_000, size), role: up.role })
      await up.worker.call('warm', { ops: ['put', 'get'], n: Math.min(pipelined, 5 * window), window, role: up.role })
      await up.worker.call('warmIterate', { n: Math.min(entries, 1_000), role: up.role })
      return up
    },
    // Sequential work is cut in chunks, taken in turns; a pipelined or iteration slice has a fill
    // and a drain, so it runs whole, in the first chunk.
    slice({ worker, role }, phase, chunk) {
      const [, kind, what] = PHASES.find(([name]) => name === phase)
      if (kind === 'sequential') {
        const from = chunk * size
        const count = Math.min(size, sequential - from)
        return count > 0 ? worker.call('slice', { op: what, prefix: 's', from, count, role }) : none
      }
      if (chunk > 0) return none
      if (kind === 'pipelined')
        return worker.call('slice', { op: what, prefix: 'p', from: 0, count: pipelined, window, role })
      return worker.call('pass', { mode: what, n: entries, role })
    }
  })
}

export function report(samples, config) {
  const columns = {
    'TLS / unix socket': ['TLS follower', 'unix follower'],
    'TCP / unix socket': ['TCP follower', 'unix follower']
  }
  return [
    table(
      `remote followers, ops/s (loopback; sequential ${config.sequential}, pipelined ${config.pipelined} with ${config.window} in flight, iterate ${config.entries} entries; median [min-max] of ${counted(config.rounds, 'round')})`,
      SUBJECTS,
      PHASE_NAMES.map((phase) => [phase, ...SUBJECTS.map((s) => cell(series(samples, s, phase), rate))])
    ),
    table(
      'remote followers, ratios (per round, then median [min-max])',
      Object.keys(columns),
      PHASE_NAMES.map((phase) => [
        phase,
        ...Object.values(columns).map(([a, b]) =>
          cell(ratios(series(samples, a, phase), series(samples, b, phase)), times)
        )
      ])
    )
  ]
}
