import { type ChildProcess, fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const cleanups: (() => unknown)[] = []

/** A short, fresh temp dir (unix socket paths are capped at 107 bytes). Removed by {@link cleanup}. */
export function tempDir(): string {
  const dir = fs.mkdtempSync('/tmp/rl-')
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Register something to undo after the test. */
export function defer(fn: () => unknown): void {
  cleanups.push(fn)
}

/** Run every registered cleanup, newest first. */
export async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()?.()
    } catch {}
  }
}

/** A RaveLevel in a child process (test/fixtures/peer.mjs), driven over IPC. */
export class Peer {
  readonly child: ChildProcess
  readonly events: any[] = []
  readonly ready: Promise<unknown>
  #id = 0
  #pending = new Map<number, { resolve: (v: any) => void; reject: (e: any) => void }>()
  #waiters: { match: (e: any) => boolean; resolve: (e: any) => void }[] = []

  /**
   * @param via A command that runs the peer's `node` command line (such as `nsenter` into another
   *   mount namespace), and must exec it so that the IPC channel and the pid stay the peer's.
   */
  constructor(location: string, options?: object, env?: NodeJS.ProcessEnv, via?: readonly string[]) {
    const args = [path.join(here, 'fixtures', 'peer.mjs'), location, ...(options ? [JSON.stringify(options)] : [])]
    const spawnOptions = {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as ('ignore' | 'inherit' | 'ipc')[],
      env: env === undefined ? process.env : { ...process.env, ...env }
    }
    this.child =
      via === undefined || via.length === 0
        ? fork(args[0] as string, args.slice(1), spawnOptions)
        : spawn(via[0] as string, [...via.slice(1), process.execPath, ...args], spawnOptions)
    this.child.on('message', (msg: any) => {
      if (msg.event !== undefined) {
        this.events.push(msg)
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.match(msg)) return true
          w.resolve(msg)
          return false
        })
        return
      }
      const p = this.#pending.get(msg.id)
      this.#pending.delete(msg.id)
      if (msg.error) p?.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }))
      else p?.resolve(msg.result)
    })
    this.child.on('exit', () => {
      for (const p of this.#pending.values()) p.reject(Object.assign(new Error('peer exited'), { code: 'PEER_EXITED' }))
      this.#pending.clear()
    })
    this.ready = this.event('ready')
    defer(() => this.kill())
  }

  get pid(): number {
    return this.child.pid as number
  }

  /** Resolve with the first event named `name` (already received or future). */
  event(name: string, match: (e: any) => boolean = () => true): Promise<any> {
    const seen = this.events.find((e) => e.event === name && match(e))
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.#waiters.push({ match: (e) => e.event === name && match(e), resolve }))
  }

  call(op: string, ...args: unknown[]): Promise<any> {
    const id = ++this.#id
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.child.send({ id, op, args })
    })
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.kill('SIGKILL')
    await exited
  }
}

/** Wait until `condition` (sync or async) holds, polling; throws after `timeout` ms. */
export async function until(condition: () => boolean | Promise<boolean>, timeout = 5000): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeout) throw new Error('Timed out waiting for a condition')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Sample `peer`'s RSS every 25 ms until `work` settles; resolves with the largest sample. */
export async function peakRss(peer: Peer, work: Promise<unknown>): Promise<number> {
  let peak = 0
  let done = false
  void work.finally(() => {
    done = true
  })
  while (!done) {
    peak = Math.max(peak, await peer.call('rss'))
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  await work
  return Math.max(peak, await peer.call('rss'))
}

/**
 * Call `open()` and at once `close()` on `db`, which cannot reach a leader yet: what `open()`
 * rejected with (`null` if it resolved), and the ms `close()` took.
 */
export async function closeWhileOpening(db: {
  open(): Promise<void>
  close(): Promise<void>
}): Promise<{ error: unknown; ms: number }> {
  const opened = db.open().then(
    () => null,
    (err: unknown) => err
  )
  const started = Date.now()
  await db.close()
  return { error: await opened, ms: Date.now() - started }
}
