// Remote followers (issue 23): ours over TLS and over plain TCP on loopback, against ours over
// the unix socket, in one run. Each subject is a leader process and a follower process; the
// remote ones connect with RaveLevel.connect() and a token (and the CA, for TLS). Sequential
// and pipelined put and get, then iteration over a copy of one compacted database. The subjects
// take turns, a slice each, and so do the bounds of the sequential phases: a bare leader over
// each transport, two processes without any of our code, a client sending 40-byte frames one at
// a time and a server that puts or gets a key in classic-level for each before it echoes it (the
// same certificates for TLS). What TLS costs it is what TLS costs any Node process serving
// LevelDB: its TLS / unix ratio is the most the targets can reach on this machine. Every slice
// also records the CPU time of both processes, per operation.
import net from 'node:net'
import { credentials } from '../certs.mjs'
import { cell, counted, rate, table, times } from '../format.mjs'
import { copyOf, newLocation, removeLocation, spawn } from '../procs.mjs'
import { alternate, cpuKey, ratios, series } from '../stats.mjs'
import { template } from './iterate.mjs'

export const SUBJECTS = ['unix follower', 'TCP follower', 'TLS follower']
/** The bare leaders over each transport, in the sequential phases. */
export const BARE = ['unix bare', 'TCP bare', 'TLS bare']
const TRANSPORT = { 'unix bare': 'unix', 'TCP bare': 'tcp', 'TLS bare': 'tls' }
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
  return { worker: follower, role: 'follower', processes: { leader, follower }, stop }
}

/** A bare leader process (an echo server with classic-level) and a client process connected to it. */
async function openBare(subject, location, warmUp) {
  const [server, client] = await Promise.all([spawn(), spawn()])
  const stop = async () => {
    await client.stop()
    await server.stop()
    removeLocation(location)
  }
  try {
    const transport = TRANSPORT[subject]
    const { ca, key, cert } = credentials()
    const path = newLocation()
    const { port } = await server.call('echo', { path, transport, key, cert, location })
    await client.call('connect', { path, transport, port, ca, n: warmUp })
  } catch (err) {
    await stop()
    throw err
  }
  return { worker: client, bare: true, processes: { server, client }, stop }
}

/** Run `work` and add the CPU time each of `processes` used meanwhile (ms) as `cpu`. */
async function withCpu(processes, work) {
  const entries = Object.entries(processes)
  const before = await Promise.all(entries.map(([, worker]) => worker.call('cpuNow')))
  const result = await work()
  const after = await Promise.all(entries.map(([, worker]) => worker.call('cpuNow')))
  const cpu = Object.fromEntries(entries.map(([name], i) => [name, after[i].ms - before[i].ms]))
  return { ...result, cpu }
}

export async function run(config) {
  const source = await template(config.entries)
  const { sequential, pipelined, window, entries, chunks } = config
  const size = Math.ceil(sequential / chunks)
  const none = { count: 0, seconds: 0 }
  return alternate('remote', config.rounds, [...SUBJECTS, ...BARE], {
    phases: PHASE_NAMES,
    chunks,
    async setUp(subject) {
      if (BARE.includes(subject)) return openBare(subject, newLocation(), Math.min(1_000, size))
      const up = await openRemoteSubject(subject, copyOf(source))
      await up.worker.call('warm', { ops: ['put', 'get'], n: Math.min(1_000, size), role: up.role })
      await up.worker.call('warm', { ops: ['put', 'get'], n: Math.min(pipelined, 5 * window), window, role: up.role })
      await up.worker.call('warmIterate', { n: Math.min(entries, 1_000), role: up.role })
      return up
    },
    // Sequential work is cut in chunks, taken in turns; a pipelined or iteration slice has a fill
    // and a drain, so it runs whole, in the first chunk. The bare leaders run in the sequential
    // phases only, as many round trips as the followers make operations.
    slice(up, phase, chunk) {
      const { worker, role, bare, processes } = up
      const [, kind, what] = PHASES.find(([name]) => name === phase)
      if (kind === 'sequential') {
        const from = chunk * size
        const count = Math.min(size, sequential - from)
        if (count <= 0) return none
        if (bare) return withCpu(processes, () => worker.call('pingPong', { count, op: what }))
        return withCpu(processes, () => worker.call('slice', { op: what, prefix: 's', from, count, role }))
      }
      if (chunk > 0 || bare) return none
      if (kind === 'pipelined')
        return withCpu(processes, () =>
          worker.call('slice', { op: what, prefix: 'p', from: 0, count: pipelined, window, role })
        )
      return withCpu(processes, () => worker.call('pass', { mode: what, n: entries, role }))
    }
  })
}

/** Per round, the sequential rate of the bare leader over `transport` ('TLS' or 'TCP') / over the unix socket. */
export const bareRatio = (samples, transport, phase) =>
  ratios(series(samples, `${transport} bare`, phase), series(samples, 'unix bare', phase))

export function report(samples, config) {
  const columns = {
    'TLS / unix socket': ['TLS follower', 'unix follower'],
    'TCP / unix socket': ['TCP follower', 'unix follower']
  }
  const us = (x) => x.toFixed(1)
  const sequentialPhases = PHASES.filter(([, kind]) => kind === 'sequential').map(([name]) => name)
  const cpuRows = (subjects, phases, processes) =>
    phases.flatMap((phase) =>
      processes.map((process) => [
        `${phase}, ${process}`,
        ...subjects.map((s) => cell(series(samples, s, cpuKey(phase, process)), us))
      ])
    )
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
    ),
    table(
      'remote followers, the bare leaders in the same slices: ops/s of a client and a server with no rave-level code (40-byte frames; the server puts or gets in classic-level, then answers)',
      ['unix', 'TCP', 'TLS', 'TLS / unix', 'TCP / unix'],
      sequentialPhases.map((phase) => [
        phase,
        ...BARE.map((s) => cell(series(samples, s, phase), rate)),
        cell(bareRatio(samples, 'TLS', phase), times),
        cell(bareRatio(samples, 'TCP', phase), times)
      ])
    ),
    table(
      'remote followers, CPU µs per operation of each process (every thread, user and system)',
      SUBJECTS,
      cpuRows(SUBJECTS, PHASE_NAMES, ['leader', 'follower'])
    ),
    table(
      'remote followers, CPU µs per operation of the bare leaders',
      BARE,
      cpuRows(BARE, sequentialPhases, ['server', 'client'])
    )
  ]
}
