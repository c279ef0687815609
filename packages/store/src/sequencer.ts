/** One write of a group commit. */
export interface SequencedWrite {
  type: 'put' | 'del'
  key: any
  value?: any
}

/** What a {@link Sequencer} needs from a database. */
export interface BatchTarget {
  batch(operations: SequencedWrite[], options?: any): Promise<void>
}

/** Options of one write handed to {@link Sequencer.write}. */
export interface WriteOptions {
  /** Flush to disk before the write settles (LevelDB's `sync`). A merged batch syncs if any of its writes asked. */
  sync?: boolean | undefined
}

type Group =
  | { kind: 'read'; pending: number; started: boolean; waiters: ((err?: Error) => void)[] }
  | {
      kind: 'write'
      ops: SequencedWrite[]
      settle: ((err: Error | undefined) => void)[]
      started: boolean
      sync: boolean
    }
  | { kind: 'exclusive'; run: () => Promise<void>; reject: (err: Error) => void; started: boolean }

/**
 * Applies one client's operations in the order they were issued, as if one at a time, while
 * keeping the database busy:
 *
 * - consecutive writes (put, del, batch) are merged into one `db.batch()` (a group commit:
 *   one LevelDB write for many operations, in issue order);
 * - consecutive reads (get, getMany, iterator creation) run concurrently;
 * - a read starts only after every earlier write settled, and a write only after every earlier
 *   read settled, so a read sees exactly the writes issued before it;
 * - `exclusive` work (e.g. `clear()`) runs alone, between what came before and after.
 *
 * Without this, concurrent operations race on libuv's thread pool: two pipelined puts of one
 * key could land in either order, and a get could see a put issued after it.
 *
 * When a merged batch fails, every write in it fails with the same error.
 */
export class Sequencer {
  readonly #db: BatchTarget
  readonly #options: unknown
  readonly #groups: Group[] = []
  #head = 0

  /**
   * @param db Database whose `batch()` applies merged writes.
   * @param batchOptions Options passed to every `db.batch()` call (e.g. buffer encodings).
   */
  constructor(db: BatchTarget, batchOptions?: unknown) {
    this.#db = db
    this.#options = batchOptions
  }

  /** Operations submitted and not yet settled, counted by group. */
  get size(): number {
    return this.#groups.length - this.#head
  }

  /** Resolves once every operation submitted so far (and since) has settled. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #idle: (() => void)[] = []

  /** Run `fn` once all earlier writes settled, concurrently with adjacent reads. */
  read<T>(fn: () => Promise<T>): Promise<T> {
    const tail = this.#tail()
    let group: Extract<Group, { kind: 'read' }>
    if (tail !== undefined && tail.kind === 'read') {
      group = tail
    } else {
      group = { kind: 'read', pending: 0, started: false, waiters: [] }
      this.#push(group)
    }
    group.pending++
    const run = (): Promise<T> => {
      let p: Promise<T>
      try {
        p = fn()
      } catch (err) {
        p = Promise.reject(err)
      }
      const done = () => this.#readDone(group)
      p.then(done, done)
      return p
    }
    if (group.started) return run()
    return new Promise<void>((resolve, reject) =>
      group.waiters.push((err) => (err === undefined ? resolve() : reject(err)))
    ).then(run)
  }

  /** Apply `ops` in one batch with adjacent writes, after all earlier reads settled. */
  write(ops: SequencedWrite[], options?: WriteOptions): Promise<void> {
    const tail = this.#tail()
    const joined = tail !== undefined && tail.kind === 'write' && !tail.started
    const group: Extract<Group, { kind: 'write' }> = joined
      ? tail
      : { kind: 'write', ops: [], settle: [], started: false, sync: false }
    for (const op of ops) group.ops.push(op)
    if (options?.sync === true) group.sync = true
    const promise = new Promise<void>((resolve, reject) => {
      group.settle.push((err) => (err === undefined ? resolve() : reject(err)))
    })
    // Push only once the ops are in: a group that becomes the head starts at once.
    if (!joined) this.#push(group)
    return promise
  }

  /** Run `fn` alone: after everything earlier settled, before anything later starts. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const group: Group = {
        kind: 'exclusive',
        started: false,
        reject,
        run: () => {
          let p: Promise<T>
          try {
            p = fn()
          } catch (err) {
            p = Promise.reject(err)
          }
          return p.then(resolve, reject)
        }
      }
      this.#push(group)
    })
  }

  /**
   * Give up what has not started: every operation submitted and not yet started rejects with
   * `err` and never runs (for a connection that is gone: its replies could not be delivered, so
   * its guest sends them again elsewhere). What already runs finishes.
   */
  abandon(err: Error): void {
    const started = this.#groups[this.#head]
    const dropped = this.#groups.splice(this.#head + (started === undefined ? 0 : 1))
    for (const group of dropped) {
      if (group.kind === 'read') for (const w of group.waiters) w(err)
      else if (group.kind === 'write') for (const s of group.settle) s(err)
      else group.reject(err)
    }
    if (started === undefined) this.#wake()
  }

  #tail(): Group | undefined {
    return this.#groups.length > this.#head ? this.#groups[this.#groups.length - 1] : undefined
  }

  #push(group: Group): void {
    this.#groups.push(group)
    if (this.#groups.length - this.#head === 1) this.#start(group)
  }

  #start(group: Group): void {
    group.started = true
    if (group.kind === 'read') {
      const waiters = group.waiters
      group.waiters = []
      for (const w of waiters) w()
    } else if (group.kind === 'write') {
      const settle = group.settle
      const options = group.sync ? { ...(this.#options as object | undefined), sync: true } : this.#options
      this.#db.batch(group.ops, options).then(
        () => {
          for (const s of settle) s(undefined)
          this.#next()
        },
        (err: Error) => {
          for (const s of settle) s(err)
          this.#next()
        }
      )
    } else {
      group.run().then(() => this.#next())
    }
  }

  #readDone(group: Extract<Group, { kind: 'read' }>): void {
    if (--group.pending === 0 && this.#groups[this.#head] === group) this.#next()
  }

  #next(): void {
    this.#groups[this.#head++] = undefined as unknown as Group
    if (this.#head > 1024 && this.#head * 2 > this.#groups.length) {
      this.#groups.splice(0, this.#head)
      this.#head = 0
    }
    const next = this.#groups[this.#head]
    if (next !== undefined) this.#start(next)
    else this.#wake()
  }

  #wake(): void {
    if (this.#groups.length > this.#head || this.#idle.length === 0) return
    const idle = this.#idle
    this.#idle = []
    for (const resolve of idle) resolve()
  }
}
