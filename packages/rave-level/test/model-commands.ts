// The vocabulary of the model-based test (model.test.ts): operation and command records, the
// fast-check arbitraries that generate them, and how one operation is applied to a database
// (the RaveLevel under test or the classic-level oracle). Records are plain data, so that a
// failing sequence prints as JSON and can be replayed from its seed and path.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'

/** Encoding of keys and values of one operation: strings, Buffers or Uint8Arrays. */
export type Enc = 'utf8' | 'buffer' | 'view'

export interface Bounds {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
}

export interface BatchItem {
  type: 'put' | 'del'
  key: string
  value?: string
}

/** Ways to call the API wrongly; each must reject (or throw) as it does with classic-level. */
export const INVALID = [
  'putNullKey',
  'putUndefinedKey',
  'putNullValue',
  'putUndefinedValue',
  'getNullKey',
  'delNullKey',
  'hasUndefinedKey',
  'getManyNullKey',
  'getManyNotArray',
  'hasManyNotArray',
  'batchNullKey',
  'batchNullValue',
  'batchBadType',
  'batchNotArray',
  'chainedNullKey',
  'chainedUndefinedValue',
  'putUnknownEncoding'
] as const

/**
 * One operation. `bulk` puts `n` keys `<key>0000`, `<key>0001` ... in one batch, so that the
 * database sometimes holds enough for a clear() or an iterator to take a while (and a kill to
 * land in the middle of it). `scratch` (buffer and view encodings only): the caller passes its keys and
 * values from one scratch buffer that it refills before each call and scribbles over right
 * after, as an application reusing a buffer does.
 */
export type Op =
  | { t: 'put'; key: string; value: string; enc: Enc; scratch: boolean }
  | { t: 'del'; key: string; enc: Enc; scratch: boolean }
  | { t: 'batch'; form: 'array' | 'chained'; ops: BatchItem[]; enc: Enc; scratch: boolean }
  | { t: 'clear'; range: Bounds; reverse: boolean; limit: number }
  | { t: 'bulk'; key: string; n: number }
  | { t: 'get'; key: string; enc: Enc }
  | { t: 'getMany'; keys: string[]; enc: Enc }
  | { t: 'has'; key: string }
  | { t: 'hasMany'; keys: string[] }
  | { t: 'invalid'; what: (typeof INVALID)[number] }

/**
 * Who takes over from a leader child that went away: `self`, whoever already waits (this
 * follower, or a standby child); `spawn`, also a new process started at once (it boots far
 * slower than this follower re-elects, so it rarely wins); `racer`, also a new process started
 * just before and already following, so that it races this follower on equal terms.
 */
export type Takeover = 'self' | 'spawn' | 'racer'
/** How a leader child goes away: SIGKILL, or closing its RaveLevel (a graceful shutdown). */
export type Ending = 'SIGKILL' | 'close'
/** When the instance under test itself leads (it cannot be killed): keep it, or close it so that a waiting child takes over. */
export type WhenLeader = 'stay' | 'handover'

/**
 * A kill in the middle of a pipeline: after the first `at` operations were issued and `delay`
 * microseconds (0: at once, before they even left this process; else after they were sent, so
 * that the kill lands while the leader reads, applies or answers them).
 */
export interface Kill {
  at: number
  delay: number
  how: Ending
  after: Takeover
  lead: WhenLeader
}

export type ReadHow = 'next' | 'nextv' | 'all'

export interface OpenCmd {
  c: 'open'
  slot: number
  kind: 'iterator' | 'keys' | 'values'
  /** For `iterator()`: its `keys: false` or `values: false` option (entries then hold `undefined`). */
  without: 'keys' | 'values' | null
  range: Bounds
  reverse: boolean
  limit: number
  enc: Enc
}

export type Cmd =
  | { c: 'op'; op: Op }
  | { c: 'pipeline'; ops: Op[]; kill: Kill | null }
  | OpenCmd
  | { c: 'read'; slot: number; how: ReadHow; size: number; kill: Omit<Kill, 'at' | 'lead'> | null }
  /** Open an iterator and read it in steps; with `kill`, the leader goes during read number `at`. */
  | {
      c: 'scan'
      open: OpenCmd
      reads: { how: ReadHow; size: number }[]
      kill: (Omit<Kill, 'lead'> & { at: number }) | null
    }
  | { c: 'seek'; slot: number; target: string }
  | { c: 'close'; slot: number }
  | { c: 'kill'; how: Ending; after: Takeover; lead: WhenLeader }
  | { c: 'reopen'; ops: Op[] }
  | { c: 'standby' }

export const SLOTS = 2

// A small alphabet, so that keys such as 'a', 'aa', 'ab' and 'b' share prefixes and collide
// a lot; the empty key is valid in classic-level 3 and rare here.
const key = fc.oneof(
  { weight: 40, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant('') }
)
// Bounds also lie around and between the keys.
const bound = fc.oneof(
  { weight: 12, arbitrary: key },
  { weight: 1, arbitrary: fc.constantFrom('0', 'd', 'a\u00ff', 'b\u0000') }
)
// The empty value and bytes that are not UTF-8 when written from a buffer (latin1 0xff, 0x00).
const value = fc.string({ unit: fc.constantFrom('x', 'y', 'z', '\u00ff', '\u0000'), maxLength: 4 })
const enc = fc.constantFrom<Enc>('utf8', 'utf8', 'buffer', 'view')
// Any subset of gt, gte, lt, lte: with both bounds on one side, gte (lte) takes precedence.
const bounds: fc.Arbitrary<Bounds> = fc.record({ gt: bound, gte: bound, lt: bound, lte: bound }, { requiredKeys: [] })
const limit = fc.constantFrom(-1, -1, -1, 0, 1, 2, 3, 5, 100, 1000)

const writeOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ t: fc.constant('put' as const), key, value, enc, scratch: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('del' as const), key, enc, scratch: fc.boolean() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('batch' as const),
      form: fc.constantFrom('array' as const, 'chained' as const),
      ops: fc.array(
        fc.oneof(
          fc.record({ type: fc.constant('put' as const), key, value }),
          fc.record({ type: fc.constant('del' as const), key })
        ),
        { minLength: 1, maxLength: 4 }
      ),
      enc,
      scratch: fc.boolean()
    })
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('clear' as const), range: bounds, reverse: fc.boolean(), limit })
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('bulk' as const), key, n: fc.constantFrom(100, 500, 2000) }) }
)
const readOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('get' as const), key, enc }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('getMany' as const), keys: fc.array(key, { maxLength: 4 }), enc })
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('has' as const), key }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('hasMany' as const), keys: fc.array(key, { maxLength: 4 }) }) }
)
const invalidOp: fc.Arbitrary<Op> = fc.record({ t: fc.constant('invalid' as const), what: fc.constantFrom(...INVALID) })
const anyOp = fc.oneof(
  { weight: 10, arbitrary: writeOp },
  { weight: 6, arbitrary: readOp },
  { weight: 1, arbitrary: invalidOp }
)
const pipelineOps = fc.array(anyOp, { minLength: 2, maxLength: 8 })
const slot = fc.nat({ max: SLOTS - 1 })
const takeover = fc.constantFrom<Takeover>('self', 'spawn', 'racer')
const whenLeader = fc.constantFrom<WhenLeader>('handover', 'handover', 'handover', 'stay')
const ending = fc.constantFrom<Ending>('SIGKILL', 'SIGKILL', 'SIGKILL', 'close')
const delay = fc.constantFrom(0, 0, 50, 100, 200, 300, 500, 800, 1200, 2000, 5000)

const open: fc.Arbitrary<OpenCmd> = fc.record({
  c: fc.constant('open' as const),
  slot,
  kind: fc.constantFrom('iterator' as const, 'iterator' as const, 'keys' as const, 'values' as const),
  without: fc.constantFrom('keys' as const, 'values' as const, null, null, null, null),
  range: bounds,
  reverse: fc.boolean(),
  limit,
  enc
})
const readHow = fc.constantFrom('next' as const, 'next' as const, 'nextv' as const, 'nextv' as const, 'all' as const)
const readSize = fc.constantFrom(1, 2, 3, 10, 1000)

/** One command of a sequence. Weights: about one command in twenty kills (or hands over). */
export const command: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ c: fc.constant('op' as const), op: anyOp }) },
  {
    weight: 14,
    arbitrary: pipelineOps.chain((ops) =>
      fc.record({
        c: fc.constant('pipeline' as const),
        ops: fc.constant(ops),
        kill: fc.option(
          fc.record({ at: fc.nat({ max: ops.length }), delay, how: ending, after: takeover, lead: whenLeader }),
          {
            nil: null,
            freq: 8
          }
        )
      })
    )
  },
  { weight: 10, arbitrary: open },
  {
    weight: 6,
    arbitrary: fc.array(fc.record({ how: readHow, size: readSize }), { minLength: 1, maxLength: 6 }).chain((reads) =>
      fc.record({
        c: fc.constant('scan' as const),
        open,
        reads: fc.constant(reads),
        kill: fc.option(fc.record({ at: fc.nat({ max: reads.length - 1 }), delay, how: ending, after: takeover }), {
          nil: null,
          freq: 2
        })
      })
    )
  },
  {
    weight: 22,
    arbitrary: fc.record({
      c: fc.constant('read' as const),
      slot,
      how: readHow,
      size: readSize,
      kill: fc.option(fc.record({ delay, how: ending, after: takeover }), { nil: null, freq: 3 })
    })
  },
  { weight: 5, arbitrary: fc.record({ c: fc.constant('seek' as const), slot, target: bound }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant('close' as const), slot }) },
  {
    weight: 2,
    arbitrary: fc.record({ c: fc.constant('kill' as const), how: ending, after: takeover, lead: whenLeader })
  },
  { weight: 1, arbitrary: fc.record({ c: fc.constant('reopen' as const), ops: fc.array(anyOp, { maxLength: 6 }) }) },
  { weight: 3, arbitrary: fc.constant({ c: 'standby' as const }) }
)

/** Whether an operation may change the database (an open iterator must not see it). */
export function writes(op: Op): boolean {
  return op.t === 'put' || op.t === 'del' || op.t === 'batch' || op.t === 'clear' || op.t === 'bulk'
}

/** A key, value or bound in an operation's encoding (latin1, so that '\u00ff' is one byte 0xff). */
export function data(s: string, e: Enc): string | Buffer | Uint8Array {
  if (e === 'utf8') return s
  const bytes = Buffer.from(s, 'latin1')
  return e === 'buffer' ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
}

export function encodings(e: Enc): { keyEncoding: Enc; valueEncoding: Enc } | undefined {
  return e === 'utf8' ? undefined : { keyEncoding: e, valueEncoding: e }
}

/** The range options of `range` in encoding `e`. */
export function rangeOf(range: Bounds, e: Enc): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) {
    const b = range[k]
    if (b !== undefined) out[k] = data(b, e)
  }
  return out
}

/**
 * Whether `target` lies in the range of an iterator opened with `range`, as classic-level reads
 * the range: comparing encoded bytes, `gte` taking precedence over `gt` and `lte` over `lt`.
 */
export function inRange(range: Bounds, target: string, e: Enc): boolean {
  const bytes = (s: string) => Buffer.from(data(s, e) as string | Uint8Array)
  const t = bytes(target)
  const lower = range.gte ?? range.gt
  if (lower !== undefined) {
    const c = Buffer.compare(t, bytes(lower))
    if (c < 0 || (c === 0 && range.gte === undefined)) return false
  }
  const upper = range.lte ?? range.lt
  if (upper !== undefined) {
    const c = Buffer.compare(t, bytes(upper))
    if (c > 0 || (c === 0 && range.lte === undefined)) return false
  }
  return true
}

/** The caller's reused buffer: keys and values are written into it before each call. */
export class Scratch {
  readonly buffer = Buffer.alloc(128)

  /** Write `s` at `offset` and hand out that region in encoding `e` (no copy). */
  put(offset: number, s: string, e: Enc): Buffer | Uint8Array {
    const bytes = Buffer.from(s, 'latin1')
    bytes.copy(this.buffer, offset)
    const region = this.buffer.subarray(offset, offset + bytes.length)
    return e === 'view' ? new Uint8Array(region.buffer, region.byteOffset, region.length) : region
  }

  /** The application moves on and reuses its buffer for something else. */
  scribble(): void {
    this.buffer.fill(0x23)
  }
}

/** Delete, one batch, exactly the keys that `db.keys(options)` yields. */
async function clearAsIterated(db: any, options: object): Promise<void> {
  const keys = await db.keys(options).all()
  await db.batch(keys.map((key: unknown) => ({ type: 'del', key })))
}

/**
 * Call `op` on `db`. With `scratch`, an operation marked `scratch` takes its keys and values from
 * the one reused buffer (refilled before each call, scribbled over right after the call returns);
 * without it (the oracle), from fresh buffers holding what the caller passed at call time.
 */
export function issue(db: any, op: Op, scratch: Scratch | null): unknown {
  const from = scratch !== null && 'scratch' in op && op.scratch && op.enc !== 'utf8' ? scratch : null
  try {
    switch (op.t) {
      case 'put':
        return from
          ? db.put(from.put(0, op.key, op.enc), from.put(32, op.value, op.enc), encodings(op.enc))
          : db.put(data(op.key, op.enc), data(op.value, op.enc), encodings(op.enc))
      case 'del':
        return db.del(from ? from.put(0, op.key, op.enc) : data(op.key, op.enc), encodings(op.enc))
      case 'batch':
        return batch(db, op, from)
      case 'clear':
        // The oracle clears what its iterator yields over the range, as abstract-level defines
        // clear(): classic-level 3's own clear can leave the key '' in place (see LocalStore).
        return scratch === null
          ? clearAsIterated(db, { ...rangeOf(op.range, 'utf8'), reverse: op.reverse, limit: op.limit })
          : db.clear({ ...rangeOf(op.range, 'utf8'), reverse: op.reverse, limit: op.limit })
      case 'bulk':
        return db.batch(
          Array.from({ length: op.n }, (_, i) => ({
            type: 'put',
            key: `${op.key}${String(i).padStart(4, '0')}`,
            value: 'v'
          }))
        )
      case 'get':
        return db.get(data(op.key, op.enc), encodings(op.enc))
      case 'getMany':
        return db.getMany(
          op.keys.map((k) => data(k, op.enc)),
          encodings(op.enc)
        )
      case 'has':
        return db.has(op.key)
      case 'hasMany':
        return db.hasMany(op.keys)
      case 'invalid':
        return invalid(db, op.what)
    }
  } finally {
    from?.scribble()
  }
}

function batch(db: any, op: Extract<Op, { t: 'batch' }>, from: Scratch | null): unknown {
  const e = op.enc
  if (op.form === 'array') {
    // One array: each operation in its own region of the scratch buffer.
    const ops = op.ops.map((o, i) => {
      const k = from ? from.put(i * 16, o.key, e) : data(o.key, e)
      return o.type === 'put'
        ? { type: 'put', key: k, value: from ? from.put(i * 16 + 8, o.value ?? '', e) : data(o.value ?? '', e) }
        : { type: 'del', key: k }
    })
    return db.batch(ops, encodings(e))
  }
  // Chained: the same region, refilled before each put() or del() and scribbled over after it.
  const chain = db.batch()
  for (const o of op.ops) {
    const k = from ? from.put(0, o.key, e) : data(o.key, e)
    if (o.type === 'put') chain.put(k, from ? from.put(32, o.value ?? '', e) : data(o.value ?? '', e), encodings(e))
    else chain.del(k, encodings(e))
    from?.scribble()
  }
  return chain.write()
}

async function invalid(db: any, what: (typeof INVALID)[number]): Promise<unknown> {
  switch (what) {
    case 'putNullKey':
      return db.put(null, 'v')
    case 'putUndefinedKey':
      return db.put(undefined, 'v')
    case 'putNullValue':
      return db.put('a', null)
    case 'putUndefinedValue':
      return db.put('a', undefined)
    case 'getNullKey':
      return db.get(null)
    case 'delNullKey':
      return db.del(null)
    case 'hasUndefinedKey':
      return db.has(undefined)
    case 'getManyNullKey':
      return db.getMany(['a', null])
    case 'getManyNotArray':
      return db.getMany('a')
    case 'hasManyNotArray':
      return db.hasMany('a')
    case 'batchNullKey':
      return db.batch([{ type: 'put', key: null, value: 'v' }])
    case 'batchNullValue':
      return db.batch([{ type: 'put', key: 'a', value: null }])
    case 'batchBadType':
      return db.batch([{ type: 'nope', key: 'a' }])
    case 'batchNotArray':
      return db.batch('a')
    case 'chainedNullKey':
    case 'chainedUndefinedValue': {
      const chain = db.batch()
      try {
        if (what === 'chainedNullKey') chain.put(null, 'v')
        else chain.put('a', undefined)
      } finally {
        await chain.close()
      }
      return undefined
    }
    case 'putUnknownEncoding':
      return db.put('a', 'v', { valueEncoding: 'no-such-encoding' })
  }
}

/** A settled operation: its value (bytes as hex) or its error's code (else its class name). */
export type Outcome = { ok: unknown } | { err: string }

export async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: normalize(await fn()) }
  } catch (err: any) {
    return { err: err?.code ?? err?.name ?? String(err) }
  }
}

/** Bytes become `hex:...` (a Buffer serves as a view), so that results compare as plain data. */
export function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`
  if (Array.isArray(v)) return v.map(normalize)
  return v
}

export function same(a: Outcome, b: Outcome): boolean {
  return isDeepStrictEqual(a, b)
}

/** An outcome as text, `undefined` included. */
export function show(o: unknown): string {
  return JSON.stringify(o, (_k, v) => (v === undefined ? '<undefined>' : v))
}

/**
 * Features that `MODEL_EXCLUDE` can leave out, for diagnosis only (a known bug in one of them
 * then does not hide the others): `scratch` (caller-reused buffers: fresh ones instead),
 * `close-in-flight` (close() with operations in flight: nothing in flight instead),
 * `clear-limit` (clear() with a limit: without instead). Commands are mapped, not dropped, so
 * that a seed still gives a comparable sequence.
 */
export type Feature = 'scratch' | 'close-in-flight' | 'clear-limit'

export function without(cmd: Cmd, features: readonly Feature[]): Cmd {
  const op = (o: Op): Op => {
    if (features.includes('scratch') && 'scratch' in o) return { ...o, scratch: false }
    if (features.includes('clear-limit') && o.t === 'clear') return { ...o, limit: -1 }
    return o
  }
  switch (cmd.c) {
    case 'op':
      return { ...cmd, op: op(cmd.op) }
    case 'pipeline': {
      const kill =
        cmd.kill !== null && features.includes('close-in-flight') ? { ...cmd.kill, lead: 'stay' as const } : cmd.kill
      return { ...cmd, ops: cmd.ops.map(op), kill }
    }
    case 'reopen':
      return { ...cmd, ops: features.includes('close-in-flight') ? [] : cmd.ops.map(op) }
    default:
      return cmd
  }
}
