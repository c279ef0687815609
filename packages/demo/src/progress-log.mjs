// The demo's output without a terminal (CI, a pipe, a file): plain lines, one per event and a
// progress line every second.
import { at, count } from './format.mjs'

const EVERY = 1000

/** Prints events as they happen, and once a second the rates, the leader and the time left. */
export class ProgressLog {
  #write
  #state
  #last = 0

  /** @param write Writes text. @param state As for `LiveView`. */
  constructor(write, state) {
    this.#write = write
    this.#state = state
  }

  event(text) {
    this.#write(`[${at(this.#state.cluster.elapsed())}] ${text}\n`)
  }

  render() {
    const { cluster, end } = this.#state
    if (this.#state.phase() !== 'running' || Date.now() - this.#last < EVERY) return
    this.#last = Date.now()
    let orders = 0
    for (const worker of cluster.live()) orders += cluster.rates(worker).orders
    const leader = cluster.leader === undefined ? 'no leader' : `leader ${cluster.leader.name}`
    const left = Math.max(0, (end - Date.now()) / 1000).toFixed(1)
    this.event(
      `${count(orders)} orders/s · ${leader} · ${count(cluster.totals().orders)} orders so far · ${left} s left`
    )
  }

  close() {}
}
