// The demo's live view on a terminal: one frame, redrawn in place a few times a second.
import { at, count, durations } from './format.mjs'

const EVENTS = 6
const ESC = '\x1b['

/** Redraws the state of a run in place; events show in the frame's last lines. */
export class LiveView {
  #write
  #state
  #events = []
  #lines = 0

  /**
   * @param write Writes text to the terminal.
   * @param state `{ cluster, options, plannedKills, end, phase(), columns() }`.
   */
  constructor(write, state) {
    this.#write = write
    this.#state = state
    write(`${ESC}?25l`) // hide the cursor while redrawing
  }

  event(text) {
    this.#events.push(`${at(this.#state.cluster.elapsed())}  ${text}`)
    if (this.#events.length > EVENTS) this.#events.shift()
  }

  render() {
    const width = Math.max(20, this.#state.columns() - 1)
    const lines = this.frame().map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line))
    // Back to the frame's first line, overwrite each line (clearing what is left of the old
    // one), then clear what the old frame had below. Clearing the whole screen at once instead
    // would flicker, and in tmux would push every frame into the scrollback.
    const up = this.#lines > 0 ? `${ESC}${this.#lines}F` : ''
    this.#lines = lines.length
    this.#write(`${up}${lines.map((line) => `${line}${ESC}K`).join('\n')}\n${ESC}J`)
  }

  /** Draw the last frame and give the cursor back. */
  close() {
    this.render()
    this.#write(`${ESC}?25h`)
  }

  /** The lines of the current frame. */
  frame() {
    const { cluster, options, plannedKills, end } = this.#state
    const phase = this.#state.phase()
    const left = phase === 'running' ? `${Math.max(0, (end - Date.now()) / 1000).toFixed(1)} s left` : phase
    const every = options.killEvery > 0 ? `SIGKILL of the leader every ${options.killEvery / 1000} s` : 'no kills'
    const title = `rave-level demo · ${options.workers} workers · ${every}`
    const location = `database  ${cluster.location}${options.location === undefined ? ' (temporary)' : ''}`
    // The current workers; at the end, those that stopped (the killed ones are in the events).
    const rows = cluster.current().map((worker) => {
      const rate = cluster.rates(worker)
      const role = worker === cluster.leader ? '★ leader' : worker.role
      const rates = worker.exited
        ? ['-', '-', '-', '-']
        : [count(rate.orders), count(rate.reads), count(rate.scans), count(rate.seen)]
      return `  ${worker.name.padEnd(6)}  ${String(worker.pid).padEnd(7)}  ${role.padEnd(8)}  ${rates.map((r) => r.padStart(8)).join('  ')}  ${count(worker.stats.orders).padStart(9)}`
    })
    const totals = cluster.totals()
    const failed = cluster.problems.filter((p) => p.kind === 'failed').length
    const inconsistent = cluster.problems.length - failed
    return [
      `${title}${' '.repeat(Math.max(2, 78 - title.length - left.length))}${left}`,
      location,
      '',
      `  ${'worker'.padEnd(6)}  ${'pid'.padEnd(7)}  ${'role'.padEnd(8)}  ${['orders/s', 'reads/s', 'scans/s', 'seen/s'].map((h) => h.padStart(8)).join('  ')}  ${'orders'.padStart(9)}`,
      ...rows,
      '',
      `  elections ${cluster.elections.length} · leaders killed ${cluster.kills.length} of ${plannedKills} · failovers ${durations(cluster.failovers())}`,
      `  totals    ${count(totals.orders)} orders · ${count(totals.reads)} reads · ${count(totals.scans)} scans · ${failed} failed · ${inconsistent} inconsistent`,
      `  watches   ${count(totals.seen)} orders seen live through db.watch() · ${count(totals.gaps)} gaps`,
      '',
      '  recent events',
      ...this.#events.map((line) => `  ${line}`)
    ]
  }
}
