// A linearizability checker for histories of gets and puts on registers (one per key), after
// Wing & Gong's search with Lowe's memoization, as Porcupine implements it: walk the history's
// call and return events in time order; at a call, try to linearize that operation now (the
// model must accept it), remembering (set of linearized operations, state) pairs already
// explored; at a return whose operation is not linearized yet, backtrack. Gets and puts of
// different keys are independent, so the history is checked key by key (Porcupine's
// partitioning), which keeps each search small.
//
// Conventions:
// - Times are one monotonic clock shared by every process (`process.hrtime`, CLOCK_MONOTONIC on
//   Linux), in any unit.
// - A get's `value` is what it returned (`undefined`: absent); a put's what it wrote. Values are
//   unique per put, so a read names the put it saw.
// - An operation whose process died before it returned has `ret: Infinity`: a put then may take
//   effect at any time after its call or never (linearized last, it is as if it never happened);
//   a get that never returned says nothing and is left out.
// - `twice`: a put that was pending while the leader changed may have been applied by the old
//   leader and again, when retried, by the new one; it gets an optional second effect.

import { xorshift } from '@rave-level/test-utils'

/** One operation of a history. */
export interface Operation {
  process: number
  kind: 'get' | 'put'
  key: string
  value: string | undefined
  call: number
  ret: number
  twice?: boolean
}

/** The verdict on one key. */
export interface KeyVerdict {
  key: string
  ok: boolean
  /** The search gave up (too many states): neither proved nor refuted. */
  unknown?: boolean
  operations: number
}

interface Op {
  id: number
  kind: 'get' | 'put'
  value: string | undefined
}

interface Node {
  op: Op | null
  call: boolean
  match: Node | null
  prev: Node | null
  next: Node | null
  time: number
}

/** Check every key of `history`; returns one verdict per key. */
export function check(history: readonly Operation[], budget = 2_000_000): KeyVerdict[] {
  const byKey = new Map<string, Operation[]>()
  for (const op of history) {
    if (op.kind === 'get' && op.ret === Number.POSITIVE_INFINITY) continue
    let list = byKey.get(op.key)
    if (list === undefined) byKey.set(op.key, (list = []))
    list.push(op)
    if (op.kind === 'put' && op.twice === true) list.push({ ...op, twice: false, ret: Number.POSITIVE_INFINITY })
  }
  const out: KeyVerdict[] = []
  for (const [key, ops] of byKey) {
    const result = checkRegister(ops, budget)
    out.push({ key, ok: result !== false, unknown: result === undefined, operations: ops.length })
  }
  return out
}

/** One register: true if linearizable, false if not, undefined if the budget ran out. */
export function checkRegister(ops: readonly Operation[], budget = 2_000_000): boolean | undefined {
  const events: Node[] = []
  ops.forEach((o, id) => {
    const op: Op = { id, kind: o.kind, value: o.value }
    const ret: Node = { op, call: false, match: null, prev: null, next: null, time: o.ret }
    const call: Node = { op, call: true, match: ret, prev: null, next: null, time: o.call }
    events.push(call, ret)
  })
  // Calls before returns at the same time: touching operations count as concurrent (the
  // permissive reading, so that clock granularity never makes a legal history fail).
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? 0 : a.call ? -1 : 1))
  const head: Node = { op: null, call: false, match: null, prev: null, next: null, time: -1 }
  let last = head
  for (const e of events) {
    last.next = e
    e.prev = last
    last = e
  }

  const lift = (n: Node) => {
    ;(n.prev as Node).next = n.next
    if (n.next !== null) n.next.prev = n.prev
    const m = n.match as Node
    ;(m.prev as Node).next = m.next
    if (m.next !== null) m.next.prev = m.prev
  }
  const unlift = (n: Node) => {
    const m = n.match as Node
    ;(m.prev as Node).next = m
    if (m.next !== null) m.next.prev = m
    ;(n.prev as Node).next = n
    if (n.next !== null) n.next.prev = n
  }

  // The set of linearized operations, as two 32-bit Zobrist hashes updated as operations are
  // linearized and undone (a bitset joined into a string costs O(n) a step, too much for the
  // soak's histories of hundreds of thousands of operations). A collision could only prune a
  // path not yet explored: a false refusal, never a false acceptance; at 64 bits it does not
  // happen in practice.
  const random = xorshift(0x9e3779b9 ^ ops.length)
  const z1 = new Uint32Array(ops.length)
  const z2 = new Uint32Array(ops.length)
  for (let i = 0; i < ops.length; i++) {
    z1[i] = random() * 0x100000000
    z2[i] = random() * 0x100000000
  }
  let h1 = 0
  let h2 = 0
  const seen = new Set<string>()
  const stack: { node: Node; state: string | undefined }[] = []
  let state: string | undefined
  let steps = 0
  let entry: Node | null = head.next
  while (head.next !== null) {
    if (++steps > budget) return undefined
    const node = entry as Node
    if (node.call) {
      const op = node.op as Op
      const legal = op.kind === 'put' || op.value === state
      if (legal) {
        const next = op.kind === 'put' ? op.value : state
        const n1 = (h1 ^ (z1[op.id] as number)) >>> 0
        const n2 = (h2 ^ (z2[op.id] as number)) >>> 0
        const key = `${n1}:${n2}|${next ?? '\u0000'}`
        if (!seen.has(key)) {
          seen.add(key)
          stack.push({ node, state })
          h1 = n1
          h2 = n2
          state = next
          lift(node)
          entry = head.next
          continue
        }
      }
      entry = node.next
    } else {
      // A return whose call could not be linearized before it: undo the last choice.
      const top = stack.pop()
      if (top === undefined) return false
      const op = top.node.op as Op
      h1 = (h1 ^ (z1[op.id] as number)) >>> 0
      h2 = (h2 ^ (z2[op.id] as number)) >>> 0
      state = top.state
      unlift(top.node)
      entry = top.node.next
    }
  }
  return true
}

/**
 * Read the history files a test's workers wrote (see fixtures/cache-worker.mjs): lines
 * `c <process> <n> <get|put> <key> <value|-> <time>` at each call and
 * `r <process> <n> <value|-> <time> <twice>` at each return.
 */
export function parseHistory(text: string): Operation[] {
  const calls = new Map<string, Operation>()
  for (const line of text.split('\n')) {
    const f = line.split(' ')
    if (f[0] === 'c' && f.length === 7) {
      const [, proc, n, kind, key, value, time] = f as string[]
      calls.set(`${proc}/${n}`, {
        process: Number(proc),
        kind: kind as 'get' | 'put',
        key: key as string,
        value: kind === 'put' ? value : undefined,
        call: Number(time),
        ret: Number.POSITIVE_INFINITY
      })
    } else if (f[0] === 'r' && f.length === 6) {
      const [, proc, n, value, time, twice] = f as string[]
      const op = calls.get(`${proc}/${n}`)
      if (op === undefined) continue
      op.ret = Number(time)
      if (op.kind === 'get') op.value = value === '-' ? undefined : value
      if (twice === '1') op.twice = true
    }
  }
  return [...calls.values()]
}
