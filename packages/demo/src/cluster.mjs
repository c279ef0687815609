// The demo's workers as the coordinator sees them: starting them, their reports, who leads,
// the planned SIGKILLs of the leader and the failovers that follow, and stopping them.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { plural } from './format.mjs'
import { fileURLToPath } from 'node:url'

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.mjs')
const RATE_WINDOW = 1000

/**
 * Everything that happened in a run. `kills` are the planned SIGKILLs of the leader, each with
 * the worker elected after it (`next`) and how long that took (`failover`, ms). `handOvers` are
 * the elections while the workers stop at the end: each stopping leader hands the lead to the
 * next worker, which is normal and not a failure.
 */
export class Cluster {
  /** @type {Map<string, Worker>} every worker ever started, by name */
  workers = new Map()
  elections = []
  kills = []
  handOvers = 0
  problems = []
  unexpectedExits = []
  stopping = false
  /** @type {Worker | undefined} */
  leader

  constructor({ location, run, started, onEvent }) {
    this.location = location
    this.run = run
    this.started = started
    this.onEvent = onEvent
  }

  /** Milliseconds since the run started. */
  elapsed() {
    return Date.now() - this.started
  }

  /** Start one more worker. */
  spawn() {
    const name = `w${this.workers.size + 1}`
    const child = fork(WORKER, [this.location, name, this.run], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    const worker = {
      name,
      child,
      pid: child.pid,
      stats: { orders: 0, reads: 0, scans: 0, acked: -1, seen: 0, gaps: 0 },
      role: 'starting',
      samples: [],
      stderr: '',
      exited: false,
      killed: false
    }
    this.workers.set(name, worker)
    child.stderr.setEncoding('utf8').on('data', (text) => (worker.stderr += text))
    child.on('message', (message) => this.#message(worker, message))
    child.on('exit', (code, signal) => {
      worker.exited = true
      worker.role = worker.killed ? 'killed' : 'stopped'
      if (this.leader === worker) this.leader = undefined
      if (!worker.killed && (code !== 0 || !this.stopping)) {
        this.unexpectedExits.push(
          `${name} (pid ${worker.pid}) exited with ${signal ?? `code ${code}`}${worker.stderr ? `: ${worker.stderr.trim().split('\n').at(-1)}` : ''}`
        )
      }
    })
    this.onEvent(`started ${name} (pid ${child.pid})`)
    return worker
  }

  /** The workers that have not exited. */
  live() {
    return [...this.workers.values()].filter((worker) => !worker.exited)
  }

  /** The workers not killed: those running, and at the end those that stopped. */
  current() {
    return [...this.workers.values()].filter((worker) => !worker.killed)
  }

  /** Operations per second of `worker` over the last second: `{ orders, reads, scans, seen }`. */
  rates(worker) {
    const { samples } = worker
    const first = samples[0]
    const last = samples.at(-1)
    const seconds = first && last && last.at > first.at ? (last.at - first.at) / 1000 : 0
    const rate = (name) => (seconds > 0 ? (last[name] - first[name]) / seconds : 0)
    return { orders: rate('orders'), reads: rate('reads'), scans: rate('scans'), seen: rate('seen') }
  }

  /** How long each failover took, ms from a SIGKILL to the next leader's election. */
  failovers() {
    return this.kills.filter((kill) => kill.failover !== undefined).map((kill) => kill.failover)
  }

  /** Totals over every worker. */
  totals() {
    const totals = { orders: 0, reads: 0, scans: 0, seen: 0, gaps: 0 }
    for (const { stats } of this.workers.values()) for (const name in totals) totals[name] += stats[name]
    return totals
  }

  /**
   * SIGKILL the current leader (it gets no chance to clean up); once another worker leads (or
   * `wait` ms passed), start a replacement, so that starting it does not slow the failover.
   */
  async killLeader(wait) {
    const victim = this.leader
    this.leader = undefined
    victim.killed = true
    const kill = { name: victim.name, pid: victim.pid, at: Date.now(), next: undefined, failover: undefined }
    this.kills.push(kill)
    this.onEvent(
      `SIGKILL ${victim.name} (pid ${victim.pid}), the leader, after ${plural(victim.stats.orders, 'order')}`
    )
    const exited = once(victim.child, 'exit')
    victim.child.kill('SIGKILL')
    await exited
    const deadline = Date.now() + wait
    while (kill.next === undefined && Date.now() < deadline && !this.stopping) await sleep(5)
    if (!this.stopping) this.spawn()
    return kill
  }

  /** Ask every worker to stop (each finishes its current order and closes), and wait for them. */
  async stop(timeout) {
    this.stopping = true
    const live = this.live()
    const exits = live.map((worker) => once(worker.child, 'exit'))
    for (const worker of live) if (worker.child.connected) worker.child.send('stop')
    const timer = setTimeout(() => {
      for (const worker of this.live()) {
        this.unexpectedExits.push(`${worker.name} (pid ${worker.pid}) did not stop within ${timeout} ms`)
        worker.child.kill('SIGKILL')
      }
    }, timeout)
    await Promise.all(exits)
    clearTimeout(timer)
  }

  /** SIGKILL whatever still runs (on Ctrl-C or a broken pipe). */
  async abort() {
    this.stopping = true
    const live = this.live()
    const exits = live.map((worker) => once(worker.child, 'exit'))
    for (const worker of live) {
      worker.killed = true
      worker.child.kill('SIGKILL')
    }
    await Promise.all(exits)
  }

  #message(worker, message) {
    if (message.type === 'stats') {
      const { type: _, role, ...stats } = message
      worker.stats = stats
      if (!worker.exited && role !== undefined) worker.role = role
      const now = Date.now()
      worker.samples.push({ at: now, ...stats })
      while (worker.samples.length > 2 && now - worker.samples[1].at >= RATE_WINDOW) worker.samples.shift()
    } else if (message.type === 'leader') {
      this.#elected(worker, message.at)
    } else if (message.type === 'problem') {
      this.problems.push({ worker: worker.name, kind: message.kind, detail: message.detail })
      this.onEvent(`${worker.name}: ${message.kind}: ${message.detail}`)
    }
  }

  #elected(worker, at) {
    worker.role = 'leader'
    this.leader = worker
    if (this.stopping) {
      this.handOvers++
      this.onEvent(`${worker.name} leads (hand-over while the workers stop)`)
      return
    }
    this.elections.push({ name: worker.name, at })
    const kill = this.kills.at(-1)
    if (kill !== undefined && kill.next === undefined) {
      kill.next = worker.name
      kill.failover = at - kill.at
      this.onEvent(`${worker.name} (pid ${worker.pid}) leads, ${kill.failover} ms after the SIGKILL`)
    } else {
      this.onEvent(`${worker.name} (pid ${worker.pid}) leads`)
    }
  }
}
