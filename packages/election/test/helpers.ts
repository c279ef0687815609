import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'

const FIXTURES = join(import.meta.dirname, 'fixtures')

/** A forked fixture with a queue of the messages it sent. */
export interface Child {
  process: ChildProcess
  pid: number
  messages: any[]
  /** Resolve with the first message (already received or future) that matches. */
  next(match: (message: any) => boolean, timeout?: number): Promise<any>
  /** SIGKILL it and wait until it is gone. */
  kill(): Promise<void>
}

const children = new Set<Child>()
const dirs = new Set<string>()

/** Fork `test/fixtures/<name>` with `args`. Killed by {@link cleanup}. */
export function spawn(name: string, args: Array<string | number>): Child {
  const child = fork(join(FIXTURES, name), args.map(String), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const messages: any[] = []
  const waiters = new Set<{ match: (message: any) => boolean; resolve: (message: any) => void }>()
  let consumed = 0
  child.on('message', (message) => {
    messages.push(message)
    for (const waiter of waiters) {
      if (waiter.match(message)) {
        waiters.delete(waiter)
        waiter.resolve(message)
      }
    }
  })
  const handle: Child = {
    process: child,
    pid: child.pid!,
    messages,
    next(match, timeout = 10000) {
      // Messages are matched in order and each at most once per call site's lifetime, so that
      // "wait for the next leader" does not return an old one.
      for (let i = consumed; i < messages.length; i++) {
        if (match(messages[i])) {
          consumed = i + 1
          return Promise.resolve(messages[i])
        }
      }
      consumed = messages.length
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(
            new Error(`Timed out waiting for a message from ${name} (${child.pid}); got ${JSON.stringify(messages)}`)
          )
        }, timeout)
        const waiter = {
          match,
          resolve: (message: any) => {
            clearTimeout(timer)
            consumed = messages.length
            resolve(message)
          }
        }
        waiters.add(waiter)
      })
    },
    async kill() {
      children.delete(handle)
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
  }
  children.add(handle)
  return handle
}

/**
 * Resolve with whichever of `members` reports `{ event: 'leader' }` first from now on, and that
 * message.
 */
export function nextLeader(members: Iterable<Child>, timeout = 10000): Promise<{ member: Child; message: any }> {
  return new Promise((resolve, reject) => {
    const listeners = new Map<Child, (message: any) => void>()
    const done = (): void => {
      clearTimeout(timer)
      for (const [member, listener] of listeners) member.process.off('message', listener)
    }
    for (const member of members) {
      const listener = (message: any): void => {
        if (message.event !== 'leader') return
        done()
        resolve({ member, message })
      }
      listeners.set(member, listener)
      member.process.on('message', listener)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error('No new leader was elected'))
    }, timeout)
  })
}

/** A short temporary directory (unix socket paths are limited to ~107 bytes). */
export function tempDir(): string {
  const dir = mkdtempSync('/tmp/el-')
  dirs.add(dir)
  return dir
}

/** A TCP port that was free a moment ago, to serve as a lock. */
export async function freePort(): Promise<number> {
  // Not a port from the kernel's ephemeral range (32768 and up on Linux): such a port, once
  // released, can be handed to any outbound connection or bind(0) on the machine before the test
  // binds it, and the lock then looks held forever (seen in CI). Ports below that range are never
  // handed out by the kernel; one block per vitest worker keeps parallel test files apart.
  const pool = Number(process.env.VITEST_POOL_ID ?? 0) % 20
  for (let i = 0; i < PORTS_PER_WORKER; i++) {
    const port = 20000 + pool * PORTS_PER_WORKER + (nextPort++ % PORTS_PER_WORKER)
    if (await isFree(port)) return port
  }
  throw new Error("No free port in this worker's block")
}

const PORTS_PER_WORKER = 500
let nextPort = Math.floor(Math.random() * PORTS_PER_WORKER)

function isFree(port: number): Promise<boolean> {
  const server = net.createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/**
 * Wait for `event` on `emitter`, failing after `timeout` ms. Unlike `events.once`, an `'error'`
 * meanwhile does not reject: tests that expect errors assert on them.
 */
export function waitFor<T = unknown>(emitter: NodeJS.EventEmitter, event: string, timeout = 10000): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (value: T): void => {
      clearTimeout(timer)
      resolve(value)
    }
    const timer = setTimeout(() => {
      emitter.removeListener(event, listener)
      reject(new Error(`Timed out waiting for '${event}'`))
    }, timeout)
    emitter.once(event, listener)
  })
}

/** Kill every child and remove every temporary directory. */
export async function cleanup(): Promise<void> {
  await Promise.all([...children].map((child) => child.kill()))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

/** Connect to `endpoint` and resolve with everything it sends until it ends the connection. */
export function readAll(endpoint: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    net
      .connect(endpoint)
      .setEncoding('utf8')
      .on('data', (chunk) => {
        data += chunk
      })
      .on('end', () => resolve(data))
      .on('error', reject)
  })
}
