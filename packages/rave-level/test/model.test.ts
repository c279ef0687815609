// Model-based test of invariant 9: every operation of a RaveLevel returns what classic-level 3
// used directly returns for the same sequence of operations (one writer), whatever fails over
// in between.
//
// fast-check generates sequences of commands (model-commands.ts): single operations, pipelined
// operations (issued without awaiting, then awaited together) with keys and values from one
// caller-reused buffer, iterators with gt/gte/lt/lte/reverse/limit on prefix-related keys,
// partial reads (next, nextv, all), seek in and out of range, clear by range with and without
// limit, invalid input, and failures: the leader child is SIGKILLed (or, less often, closes its
// RaveLevel) between operations, while operations are in flight (at random microseconds after
// they left), and while an iterator is mid-way; then either the instance under test takes over
// or a new process started at once (or a standby one) races it for the lock.
//
// - The instance under test, T, is a RaveLevel in this process (a follower to begin with),
//   because a caller-reused buffer can only be refilled between calls by the caller itself, and
//   so that results and errors are compared as they are, not after an IPC round trip. The
//   leaders it follows are children (test/fixtures/peer.mjs, via Peer).
// - When T itself leads it cannot be killed: a kill then either keeps T leading (the leader
//   path is tested too) or hands over: T is closed with operations in flight while a child waits
//   (everything issued before close() must finish with classic-level's result, and close() must
//   resolve), and once the child leads, the sequence goes on with a fresh RaveLevel on the same
//   location and the same oracle. A `reopen` command does the same whatever T's role, with the
//   fresh instance racing for the lock at once.
// - The oracle is classic-level 3 in its own temp location, applied strictly one operation at a
//   time in issue order (each awaited before the next): classic-level runs concurrent calls on
//   its thread pool in no set order. Keys and values from the caller's reused buffer reach the
//   oracle as copies made at call time.
// - classic-level 3.0.0 aborts the process (`DBIter::Next` assertion) when an iterator seeks
//   outside its range on an empty database. The oracle's seek() is therefore only called for a
//   target inside the range; for one outside it the expected behaviour is modelled here, as
//   abstract-level's contract says: the iterator is at its end until the next seek(). T's seek()
//   is never restricted: nothing in our paths may reach that assertion.
// - Snapshots: with `retry` (the default) an iterator that resumes on a new leader reads from a
//   new snapshot, so it would see writes issued after it was created. To keep the comparison
//   exact, no write is issued while an iterator of the sequence is open: a write command first
//   closes every open iterator (on both sides). Reads interleave freely with iterators.
// - nextv(size) may yield fewer than `size` entries before the end (classic-level does, when
//   its read-ahead runs out): the entries compare as one stream, not chunk by chunk.
// - Errors compare by `code` (by class name when there is none). After every failover, and at
//   the end, T's whole contents are compared with the oracle's; at the end also as read by a
//   fresh instance.
// - Every awaited step has a deadline (MODEL_STEP_MS, 20 s): a hang fails the run with the seed
//   and the pending step instead of hanging vitest.
//
// - Every other fresh instance under test has the follower cache on (MODEL_CACHE: 'on', 'off',
//   default 'mixed'), with a 16 KiB bound so that it evicts too: a cached read must still return
//   exactly what classic-level returns. Such an instance issues each single read twice (the
//   first may fill its cache), both compared with the oracle.
// Runs go on until MODEL_OPS operations and MODEL_KILLS SIGKILLs were made (CI: 2,000 and 10;
// `pnpm soak`: 100,000 and 500, with a new random seed each time). On failure fast-check shrinks
// the sequence for at most MODEL_SHRINK_MS (60 s; each shrink step is a whole run with real
// processes), then the seed, the path and the smallest failing sequence are printed, with the
// command that replays it:
//   MODEL_SEED=<seed> MODEL_PATH=<path> pnpm exec vitest run test/model.test.ts
// or, to run a printed (or hand-written) sequence as it is:
//   MODEL_SEQUENCE='[...]' (or a file holding it) pnpm exec vitest run test/model.test.ts
// The sequence replays exactly; the timing of kills relative to in-flight work does not, so a
// race may need a few replays (or the soak) to show again. MODEL_EXCLUDE (diagnosis only)
// leaves out features with a known bug, so that it does not hide the others.
import fs from 'node:fs'
import { ClassicLevel } from 'classic-level'
import fc from 'fast-check'
import { afterEach, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, tempDir } from './helpers.js'
import {
  type Cmd,
  command,
  type Feature,
  type Kill,
  data,
  encodings,
  inRange,
  issue,
  type Op,
  type OpenCmd,
  type ReadHow,
  type Outcome,
  outcome,
  rangeOf,
  SLOTS,
  Scratch,
  same,
  show,
  type WhenLeader,
  without,
  writes
} from './model-commands.js'

afterEach(cleanup)

const env = process.env
// `pnpm soak` (root or package) runs this file alone, for long.
const SOAK = env.npm_lifecycle_event === 'soak'
const TARGET_OPS = Number(env.MODEL_OPS ?? (SOAK ? 100_000 : 2000))
const TARGET_KILLS = Number(env.MODEL_KILLS ?? Math.max(10, Math.ceil(TARGET_OPS / 200)))
const STEP_MS = Number(env.MODEL_STEP_MS ?? 20_000)
const SHRINK_MS = Number(env.MODEL_SHRINK_MS ?? 60_000)
const SEED = env.MODEL_SEED !== undefined ? Number(env.MODEL_SEED) : (Date.now() ^ (Math.random() * 0x100000000)) | 0
const PATH = env.MODEL_PATH || undefined
// A JSON array of commands, or a file holding one: run just that sequence, once.
const SEQUENCE: Cmd[] | undefined = env.MODEL_SEQUENCE
  ? JSON.parse(
      env.MODEL_SEQUENCE.trimStart().startsWith('[') ? env.MODEL_SEQUENCE : fs.readFileSync(env.MODEL_SEQUENCE, 'utf8')
    )
  : undefined
// An upper bound: runs stop counting once the targets are met (see the property).
const MAX_RUNS = Number(env.MODEL_RUNS ?? Math.ceil(TARGET_OPS / 40) + 10)
const TIMEOUT = Number(env.MODEL_TIMEOUT_MS ?? (SOAK || TARGET_OPS > 5000 ? 24 * 3600_000 : 300_000))
const MAX_COMMANDS = 300
// Diagnosis only, never in CI: leave out a feature whose bug is known (see `without`), to see
// what else fails meanwhile. Announced in the output.
const EXCLUDE = (env.MODEL_EXCLUDE ?? '').split(',').filter((x) => x !== '') as Feature[]
const BYTES = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const
// The follower cache (the `cache` option) of the instance under test: 'on', 'off', or by default
// 'mixed' (every other fresh instance caches; a small cache, so that it also evicts).
const CACHE = env.MODEL_CACHE ?? 'mixed'
let instances = 0
/** The caching instances so far: their reads served from the cache are counted in the totals. */
const caching: RaveLevel[] = []
const cacheHits = () => caching.reduce((n, db) => n + ((db as any)[Symbol.for('rave-level.cache')]?.hits ?? 0), 0)

const COUNTERS = [
  'runs',
  'ops',
  'kills',
  'leaderCloses',
  'killsInFlight',
  'killsMidIterator',
  'takeoversByT',
  'takeoversByProcess',
  'handovers',
  'reopens',
  'leaderStays',
  'seeksOutOfRange'
] as const
type Counts = Record<(typeof COUNTERS)[number], number>
const zero = (): Counts => Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Counts

/** Resolve when `fn()` holds, polling. */
async function until(fn: () => boolean): Promise<void> {
  while (!fn()) await new Promise((r) => setTimeout(r, 5))
}

/** `p`, or a rejection naming `what` after `ms`. */
function within<T>(p: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}

/**
 * Let what was issued leave this process (one turn of the event loop), then wait `us`
 * microseconds: busily below 2 ms, where timers are too coarse to hit the leader mid-work.
 */
async function pause(us: number): Promise<void> {
  await new Promise((r) => setImmediate(r))
  if (us >= 2000) {
    await new Promise((r) => setTimeout(r, us / 1000))
    return
  }
  const end = process.hrtime.bigint() + BigInt(us) * 1000n
  while (process.hrtime.bigint() < end) {}
}

/** How RaveLevel's contents differ from classic-level's (entries as latin1 text). */
function diff(got: Outcome, want: Outcome): string {
  if (!('ok' in got) || !('ok' in want)) return `RaveLevel ${show(got)}, classic-level ${show(want)}`
  const text = (hex: string) => Buffer.from(hex.slice(4), 'hex').toString('latin1')
  const map = (o: Outcome) => new Map((o as { ok: [string, string][] }).ok.map(([k, v]) => [text(k), text(v)]))
  const [g, w] = [map(got), map(want)]
  const missing = [...w.keys()].filter((k) => !g.has(k))
  const extra = [...g.keys()].filter((k) => !w.has(k))
  const changed = [...w.keys()].filter((k) => g.has(k) && g.get(k) !== w.get(k)).map((k) => [k, g.get(k), w.get(k)])
  return `RaveLevel has ${g.size} entries, classic-level ${w.size}; missing in RaveLevel: ${show(missing)}; extra in RaveLevel: ${show(extra)}; different values [key, RaveLevel, classic-level]: ${show(changed)}`
}

function alive(p: Peer): boolean {
  return p.child.exitCode === null && p.child.signalCode === null
}

function leads(p: Peer): boolean {
  return alive(p) && p.events.some((e) => e.event === 'leader')
}

/** An open iterator on both sides. `out`: the oracle's was seeked out of range (modelled). */
/**
 * An oracle iterator whose `limit` counts the entries it yielded, as abstract-level documents
 * it and RaveLevel does in both roles. classic-level 3 passes the limit to LevelDB's binding,
 * which also counts the entries it read ahead into its cache: after a `seek()` drops that cache,
 * it ends early (limit 5: one `nextv(1)`, one `next()` that read three ahead, a seek, and it
 * yields one more entry where four more exist). The oracle iterates without a limit and applies
 * it here; what a closed iterator does (reject) still comes from classic-level.
 */
function yieldLimited(it: any, limit: number) {
  let yielded = 0
  let closed = false
  const left = () => limit - yielded
  return {
    async next() {
      if (left() <= 0 && !closed) return undefined
      const entry = await it.next()
      if (entry !== undefined) yielded++
      return entry
    },
    async nextv(size: number) {
      if (left() <= 0 && !closed) return []
      const entries = await it.nextv(closed ? size : Math.min(size, left()))
      yielded += entries.length
      return entries
    },
    async all() {
      if (closed) return it.all()
      const entries: unknown[] = []
      try {
        while (left() > 0) {
          const more = await it.nextv(Math.min(1000, left()))
          if (more.length === 0) break
          yielded += more.length
          entries.push(...more)
        }
      } finally {
        closed = true
        await it.close()
      }
      return entries
    },
    seek(target: unknown) {
      return it.seek(target)
    },
    close() {
      closed = true
      return it.close()
    }
  }
}

interface Slot {
  readonly cmd: OpenCmd
  readonly t: any
  readonly o: any
  out: boolean
  closed: boolean
}

/** One sequence: a fresh location with a leader child, T following it, and a fresh oracle. */
class ModelRun {
  readonly counts = zero()
  readonly #location = tempDir()
  readonly #oracle = new ClassicLevel<string, string>(tempDir())
  readonly #children: Peer[] = []
  readonly #slots: (Slot | null)[] = new Array(SLOTS).fill(null)
  readonly #scratch = new Scratch()
  #db!: RaveLevel
  #step = -1
  #takeoverPending = false
  /** A leader went away (or T was replaced) during this step. */
  #failedOver = false

  constructor(readonly cmds: Cmd[]) {
    const oracle = this.#oracle
    defer(() => oracle.close())
  }

  async execute(): Promise<void> {
    await this.#oracle.open()
    const first = this.#spawn()
    await this.#wait(first.event('leader'), 'the first leader')
    const db = this.#open()
    await this.#wait(
      until(() => db.role === 'follower'),
      'the instance under test to follow'
    )
    for (const [i, cmd] of this.cmds.entries()) {
      this.#step = i
      await this.#exec(cmd)
      if (this.#failedOver) {
        // Pinpoint a write that a failover lost, doubled or mangled at the step that did it.
        this.#failedOver = false
        await this.#compareState(this.#db, 'state after the failover')
      }
    }
    this.#step = this.cmds.length
    await this.#finish()
  }

  async #exec(cmd: Cmd): Promise<void> {
    switch (cmd.c) {
      case 'op':
        if (writes(cmd.op)) await this.#closeSlots()
        await this.#compareAll([cmd.op], [this.#issue(cmd.op)])
        // A caching instance reads again: the first read may have filled its cache.
        if (!writes(cmd.op) && caching.includes(this.#db)) await this.#compareAll([cmd.op], [this.#issue(cmd.op)])
        return
      case 'pipeline':
        return this.#pipeline(cmd.ops, cmd.kill)
      case 'open':
        return this.#openSlot(cmd)
      case 'scan':
        return this.#scan(cmd)
      case 'read':
        return this.#read(cmd.slot, cmd.how, cmd.size, cmd.kill)
      case 'seek':
        return this.#seek(cmd.slot, cmd.target)
      case 'close':
        return this.#closeSlot(cmd.slot)
      case 'kill':
        if (cmd.after === 'racer') await this.#racer()
        return this.#kill({ ...cmd, delay: 0 }, cmd.lead)
      case 'reopen':
        return this.#replace(cmd.ops, false)
      case 'standby':
        if (this.#children.filter((p) => alive(p) && !leads(p)).length < 2) this.#spawn()
        return
    }
  }

  // ---- Operations ----------------------------------------------------------------------

  /** Issue `op` on T (not awaited). */
  #issue(op: Op): Promise<Outcome> {
    this.counts.ops++
    return outcome(() => issue(this.#db, op, this.#scratch))
  }

  /**
   * Issue `ops` without awaiting them, killing the leader after the first `kill.at` of them
   * (with the others in flight), then compare each result with the oracle's.
   */
  async #pipeline(ops: Op[], kill: Kill | null): Promise<void> {
    if (ops.some(writes)) await this.#closeSlots()
    if (kill != null && (await this.#leader()) === 'T') {
      if (kill.lead === 'handover') return this.#replace(ops, true)
      this.counts.leaderStays++
      kill = null
    }
    if (kill?.after === 'racer') await this.#racer()
    const pending: Promise<Outcome>[] = []
    for (let i = 0; i <= ops.length; i++) {
      if (kill != null && kill.at === i) {
        this.counts.killsInFlight++
        await this.#kill(kill, 'stay')
      }
      if (i < ops.length) pending.push(this.#issue(ops[i] as Op))
    }
    await this.#compareAll(ops, pending)
  }

  /** Apply `ops` to the oracle one at a time and compare with T's outcomes. */
  async #compareAll(ops: Op[], pending: Promise<Outcome>[]): Promise<void> {
    for (const [i, op] of ops.entries()) {
      const o = await outcome(() => issue(this.#oracle, op, null))
      const what = ops.length === 1 ? op.t : `${op.t} #${i} of ${ops.length}`
      this.#check(what, await this.#wait(pending[i] as Promise<Outcome>, what), o)
    }
  }

  // ---- Iterators -----------------------------------------------------------------------

  async #openSlot(cmd: OpenCmd): Promise<void> {
    await this.#closeSlot(cmd.slot)
    const options = () => ({
      ...rangeOf(cmd.range, cmd.enc),
      reverse: cmd.reverse,
      limit: cmd.limit,
      ...encodings(cmd.enc),
      ...(cmd.kind === 'iterator' && cmd.without != null ? { [cmd.without]: false } : {})
    })
    this.counts.ops++
    let t: any
    let o: any
    const made = await outcome(() => {
      t = (this.#db as any)[cmd.kind](options())
    })
    const want = await outcome(() => {
      const oracle = (this.#oracle as any)[cmd.kind]({ ...options(), limit: -1 })
      o = cmd.limit >= 0 ? yieldLimited(oracle, cmd.limit) : oracle
    })
    this.#check(`${cmd.kind}()`, made, want)
    if (t !== undefined && o !== undefined) this.#slots[cmd.slot] = { cmd, t, o, out: false, closed: false }
  }

  /**
   * Open an iterator and read it in steps, with no write in between; with `kill`, the leader
   * goes away while read number `kill.at` is in flight (mid-way when `at` > 0). When T leads, it
   * first hands over, so that there is a leader child to kill.
   */
  async #scan(cmd: Extract<Cmd, { c: 'scan' }>): Promise<void> {
    if (cmd.kill != null && (await this.#leader()) === 'T') await this.#replace([], true)
    await this.#openSlot(cmd.open)
    for (const [i, { how, size }] of cmd.reads.entries()) {
      await this.#read(cmd.open.slot, how, size, cmd.kill?.at === i ? cmd.kill : null)
    }
  }

  async #read(index: number, how: ReadHow, size: number, kill: Extract<Cmd, { c: 'read' }>['kill']): Promise<void> {
    // An empty slot reads the other one, if that is open.
    const slot = this.#slots[index] ?? this.#slots.find((x) => x != null)
    if (slot == null) return
    const call = (it: any) => (how === 'next' ? it.next() : how === 'nextv' ? it.nextv(size) : it.all())
    if (kill?.after === 'racer') await this.#racer()
    this.counts.ops++
    const t = outcome(() => call(slot.t))
    if (kill != null && (await this.#leader()) !== 'T') {
      this.counts.killsInFlight++
      await this.#kill(kill, 'stay')
    }
    let o: Outcome
    if (slot.out && !slot.closed) {
      // Seeked out of range: at the end until the next seek (all() also closes the iterator).
      if (how === 'all') await slot.o.close()
      o = { ok: how === 'next' ? undefined : [] }
    } else {
      o = await outcome(() => call(slot.o))
    }
    if (how === 'all') slot.closed = true
    const got = await this.#wait(t, how)
    if (how === 'nextv') await this.#align(slot, got, o)
    this.#check(`${how}(${how === 'nextv' ? size : ''}) on ${show(slot.cmd)}`, got, o)
  }

  /**
   * nextv(size) yields at most `size` entries: classic-level may yield fewer before its end
   * (when its read-ahead cache runs out), RaveLevel only at the end. That is not a difference in
   * what is read: when both yielded some, the shorter side reads on (nextv) until both hold as
   * many entries or one ends, so that what they yielded compares as one stream.
   */
  async #align(slot: Slot, got: Outcome, want: Outcome): Promise<void> {
    if (!('ok' in got) || !('ok' in want)) return
    const [a, b] = [got.ok as unknown[], want.ok as unknown[]]
    while (a.length > 0 && b.length > 0 && a.length !== b.length) {
      const [short, it] = a.length < b.length ? [a, slot.t] : [b, slot.o]
      this.counts.ops++
      const more = await this.#wait(
        outcome(() => it.nextv(Math.abs(a.length - b.length))),
        'nextv() to align'
      )
      if (!('ok' in more) || (more.ok as unknown[]).length === 0) return
      short.push(...(more.ok as unknown[]))
    }
  }

  async #seek(index: number, target: string): Promise<void> {
    const slot = this.#slots[index] ?? this.#slots.find((x) => x != null)
    if (slot == null) return
    const e = slot.cmd.enc
    this.counts.ops++
    const t = await outcome(() => slot.t.seek(data(target, e)))
    let o: Outcome
    if (slot.closed) {
      // A no-op on a closed iterator (abstract-level returns before reaching classic-level).
      o = await outcome(() => slot.o.seek(data(target, e)))
    } else if (inRange(slot.cmd.range, target, e)) {
      o = await outcome(() => slot.o.seek(data(target, e)))
      slot.out = false
    } else {
      // Keep the oracle away from classic-level's assertion: model the contract instead.
      this.counts.seeksOutOfRange++
      slot.out = true
      o = { ok: undefined }
    }
    this.#check(`seek(${show(target)}) on ${show(slot.cmd)}`, t, o)
  }

  async #closeSlot(index: number): Promise<void> {
    const slot = this.#slots[index]
    if (slot == null) return
    this.#slots[index] = null
    this.counts.ops++
    const t = this.#wait(
      outcome(() => slot.t.close()),
      'iterator close()'
    )
    const o = await outcome(() => slot.o.close())
    this.#check('iterator close()', await t, o)
  }

  async #closeSlots(): Promise<void> {
    for (let i = 0; i < SLOTS; i++) await this.#closeSlot(i)
  }

  // ---- Failures ------------------------------------------------------------------------

  #spawn(): Peer {
    const peer = new Peer(this.#location)
    this.#children.push(peer)
    return peer
  }

  /** Start a child and let it follow the leader, so that it races T when the leader goes. */
  async #racer(): Promise<void> {
    if (this.#db.role !== 'follower') return
    const child = this.#spawn()
    await this.#wait(child.ready, 'a racing child to start')
    await this.#wait(child.call('get', 'model/probe'), 'a racing child to connect')
  }

  /** The current leader (T or a child), once there is one. Counts a takeover after a kill. */
  async #leader(): Promise<'T' | Peer> {
    let found: 'T' | Peer | undefined
    const find = () => (this.#db.role === 'leader' ? 'T' : this.#children.find(leads))
    await this.#wait(
      until(() => (found = find()) !== undefined),
      'a leader to be elected'
    )
    const leader = found as 'T' | Peer
    if (this.#takeoverPending) {
      this.#takeoverPending = false
      if (leader === 'T') this.counts.takeoversByT++
      else this.counts.takeoversByProcess++
    }
    return leader
  }

  /**
   * End the leader child (SIGKILL, or close its RaveLevel), `delay` microseconds after what was
   * issued left this process; if T leads instead, keep it or hand over, as `lead` says.
   */
  async #kill({ how, after, delay }: Omit<Kill, 'at' | 'lead'>, lead: WhenLeader): Promise<void> {
    const leader = await this.#leader()
    if (leader === 'T') {
      if (lead === 'handover') return this.#replace([], true)
      this.counts.leaderStays++
      return
    }
    if (delay > 0) await pause(delay)
    if (this.#slots.some((s) => s !== null && !s.closed && s.t.count > 0)) this.counts.killsMidIterator++
    if (how === 'close') {
      // A graceful shutdown: the leader closes while our operations are in flight.
      await this.#wait(leader.call('close'), 'close() of the leader child')
      this.counts.leaderCloses++
    } else {
      this.counts.kills++
    }
    // A child whose RaveLevel closed must not count as the leader any more.
    await this.#wait(leader.kill(), 'SIGKILL of the leader')
    this.#takeoverPending = true
    this.#failedOver = true
    // Followers that lost races pile up; a few are enough.
    const idle = this.#children.filter((p) => alive(p) && !leads(p))
    for (const p of idle.slice(0, Math.max(0, idle.length - 2))) await this.#wait(p.kill(), 'SIGKILL of a follower')
    if (after === 'spawn') this.#spawn()
  }

  /**
   * Close T with `ops` in flight and go on with a fresh instance on the same location. With
   * `handover` (T leads), a child waits to take over. Everything issued before close() must
   * finish as with classic-level, and close() must resolve.
   */
  async #replace(ops: Op[], handover: boolean): Promise<void> {
    await this.#closeSlots()
    const leading = this.#db.role === 'leader'
    if (handover && !this.#children.some(alive)) {
      const child = this.#spawn()
      await this.#wait(child.ready, 'a child to start')
      await this.#wait(child.call('get', 'model/probe'), 'a child to connect')
    }
    this.#failedOver = true
    const pending = ops.map((op) => this.#issue(op))
    const closing = outcome(() => this.#db.close())
    await this.#compareAll(ops, pending)
    this.#check('close()', await this.#wait(closing, 'close()'), { ok: undefined })
    if (handover && leading) {
      // The waiting child takes over; only then does the fresh instance start, as a follower.
      await this.#wait(
        until(() => this.#children.some(leads)),
        'a waiting child to take over'
      )
      this.counts.handovers++
      this.counts.takeoversByProcess++
    } else {
      // The fresh instance starts at once, racing whoever waits for the lock.
      this.counts.reopens++
      this.#takeoverPending = leading
    }
    const db = this.#open()
    await this.#wait(db.open(), 'a fresh instance to open')
  }

  /**
   * A fresh instance under test. The sequence goes on once it is open, as the oracle always is
   * (abstract-level defers what is called while a database opens, with small differences of its
   * own, for classic-level too: e.g. a chained batch throws, and an iterator made then ignores a
   * seek() after its end), but not before it was elected: its first operations wait for that.
   */
  #open(): RaveLevel {
    const cached = CACHE === 'on' || (CACHE === 'mixed' && instances++ % 2 === 0)
    const db = new RaveLevel(this.#location, cached ? { cache: { maxBytes: 16 * 1024 } } : {})
    if (cached) caching.push(db)
    defer(() => within(db.close(), 'close() at cleanup'))
    this.#db = db
    return db
  }

  // ---- Checks --------------------------------------------------------------------------

  async #finish(): Promise<void> {
    await this.#closeSlots()
    await this.#leader()
    await this.#compareState(this.#db, 'final state')
    const view = new RaveLevel(this.#location)
    defer(() => within(view.close(), 'close() at cleanup'))
    await this.#compareState(view, 'final state read by a fresh instance')
  }

  /** Compare everything `db` reads with the oracle's contents, as bytes. */
  async #compareState(db: RaveLevel, what: string): Promise<void> {
    const want = await outcome(() => this.#oracle.iterator(BYTES).all())
    const got = await this.#wait(
      outcome(() => db.iterator(BYTES).all()),
      what
    )
    if (!same(got, want)) throw new Error(`${this.#where()}: ${what}: ${diff(got, want)}`)
  }

  #check(what: string, t: Outcome, o: Outcome): void {
    if (!same(t, o)) {
      throw new Error(`${this.#where()}: ${what}: RaveLevel ${show(t)}, classic-level ${show(o)}`)
    }
  }

  #where(): string {
    const cmd = this.cmds[this.#step]
    return cmd === undefined ? 'after the last step' : `step ${this.#step} (${show(cmd)})`
  }

  #wait<T>(p: Promise<T>, what: string): Promise<T> {
    return within(p, `${this.#where()}: ${what}`)
  }
}

it(
  'answers as classic-level does, operation for operation, across SIGKILLs of the leader',
  async () => {
    const started = Date.now()
    const totals = zero()
    const replaying = PATH !== undefined
    let failedAt: number | null = null
    let shrinkRuns = 0
    const printTotals = () => {
      const secs = ((Date.now() - started) / 1000).toFixed(1)
      console.log(
        `model totals: ${totals.runs} runs, ${totals.ops} operations, ${totals.kills} SIGKILLs and ${totals.leaderCloses} closes of the leader` +
          ` (${totals.killsInFlight} with operations in flight, ${totals.killsMidIterator} with an iterator mid-way),` +
          ` takeovers ${totals.takeoversByProcess} by another process and ${totals.takeoversByT} by the instance under test,` +
          ` ${totals.handovers} handovers by closing the leading instance, ${totals.reopens} reopens,` +
          ` ${totals.leaderStays} kills skipped while the instance under test led,` +
          ` ${totals.seeksOutOfRange} seeks out of range, ${cacheHits()} reads served from a follower cache; ${secs} s; seed ${SEED}`
      )
    }

    /** Run one sequence; count it unless it is a shrink run. */
    const runOnce = async (cmds: Cmd[]): Promise<void> => {
      const run = new ModelRun(cmds)
      try {
        await run.execute()
      } catch (err) {
        failedAt ??= Date.now()
        throw err
      } finally {
        await cleanup()
        if (failedAt === null) {
          run.counts.runs = 1
          for (const k of COUNTERS) totals[k] += run.counts[k]
          const secs = Math.round((Date.now() - started) / 1000)
          console.log(
            `model run ${totals.runs}: ${cmds.length} commands, ${run.counts.ops} ops, ${run.counts.kills} kills` +
              ` | total ${totals.ops} ops, ${totals.kills} kills, ${secs} s`
          )
        }
      }
    }

    if (SEQUENCE !== undefined) {
      // A sequence written out (e.g. from a report, or edited by hand) runs once, as it is.
      console.log(`model: the ${SEQUENCE.length} commands of MODEL_SEQUENCE`)
      try {
        await runOnce(SEQUENCE)
      } finally {
        printTotals()
      }
      return
    }

    const mode = replaying ? `replaying path ${PATH}` : `until ${TARGET_OPS} operations and ${TARGET_KILLS} kills`
    console.log(`model: seed ${SEED}, ${mode}`)
    if (EXCLUDE.length > 0) console.log(`model: DIAGNOSIS, NOT A FULL RUN: without ${EXCLUDE.join(', ')}`)
    const commands = EXCLUDE.length === 0 ? command : command.map((c) => without(c, EXCLUDE))
    const sequence = fc.noBias(fc.array(commands, { minLength: 1, maxLength: MAX_COMMANDS, size: 'max' }))
    const property = fc.asyncProperty(sequence, async (cmds) => {
      if (failedAt !== null) {
        // Shrinking: each try is a whole run with real processes. Past the budget, the smallest
        // failure so far is reported (the remaining candidates pass without running).
        if (Date.now() - failedAt > SHRINK_MS) return
        shrinkRuns++
      } else if (!replaying && totals.ops >= TARGET_OPS && totals.kills >= TARGET_KILLS) {
        return
      }
      await runOnce(cmds)
    })
    const details = await fc.check(property, { seed: SEED, path: PATH, numRuns: MAX_RUNS })
    printTotals()
    if (details.failed) {
      const cmds = (details.counterexample?.[0] ?? []) as Cmd[]
      const exclude = EXCLUDE.length > 0 ? ` MODEL_EXCLUDE=${EXCLUDE.join(',')}` : ''
      const report = [
        `model FAILED: seed ${details.seed}, path ${details.counterexamplePath}, after ${details.numRuns} runs;` +
          ` shrunk ${details.numShrinks} times in ${shrinkRuns} shrink runs`,
        `replay: MODEL_SEED=${details.seed} MODEL_PATH=${details.counterexamplePath} MODEL_OPS=${TARGET_OPS}${exclude} pnpm exec vitest run test/model.test.ts`,
        `error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
        `counterexample (${cmds.length} commands; MODEL_SEQUENCE=<this JSON array> runs it as it is):`,
        `[${cmds.map((c) => JSON.stringify(c)).join(',\n ')}]`
      ].join('\n')
      console.log(report)
      throw new Error(report)
    }
    if (!replaying) {
      expect(totals.ops).toBeGreaterThanOrEqual(TARGET_OPS)
      expect(totals.kills).toBeGreaterThanOrEqual(TARGET_KILLS)
    }
  },
  TIMEOUT
)
