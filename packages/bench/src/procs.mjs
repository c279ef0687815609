// Worker processes and temp dirs, and their cleanup. Every child is forked from worker.mjs and
// driven with `call(command, args)`; every database lives in a short dir under /tmp (unix socket
// paths are capped at 107 bytes, and upstream puts its socket inside the location).
import { fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '@rave-level/test-utils'

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url))
const live = new Set()
let execArgv = []

/** Profile every worker forked from now on (`node --cpu-prof`), writing into `dir`. */
export function profileInto(dir) {
  fs.mkdirSync(dir, { recursive: true })
  execArgv = ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`]
}
let root
let dirs = 0

/** A new, not yet existing location under this run's temp dir. */
export function newLocation() {
  root ??= tempDir('rlb-')
  return path.join(root.path, String(dirs++))
}

/** Copy the database at `template` (closed) to a new location. */
export function copyOf(template) {
  const location = newLocation()
  fs.cpSync(template, location, { recursive: true })
  return location
}

export const removeLocation = (location) => fs.rmSync(location, { recursive: true, force: true })

/**
 * Fork a worker and wait until it listens. `call` rejects with the worker's error, when the
 * worker dies first, or after `timeout` ms (a hung subject fails the run rather than stalling it).
 */
export async function spawn() {
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv })
  live.add(child)
  const pending = new Map()
  let ids = 0
  let exited = false
  child.on('message', (message) => {
    const entry = pending.get(message.id)
    if (entry === undefined) return
    pending.delete(message.id)
    clearTimeout(entry.timer)
    if (message.error === undefined) entry.resolve(message.result)
    else entry.reject(new Error(`worker ${child.pid}, ${entry.command}: ${message.error}`))
  })
  child.on('exit', (code, signal) => {
    exited = true
    live.delete(child)
    for (const entry of pending.values()) {
      clearTimeout(entry.timer)
      entry.reject(new Error(`worker ${child.pid} exited (${signal ?? code}) during ${entry.command}`))
    }
    pending.clear()
  })
  const [first] = await Promise.race([once(child, 'message'), once(child, 'exit')])
  if (first?.ready !== true) throw new Error(`worker ${child.pid} exited before it was ready`)
  return {
    pid: child.pid,
    call(command, args = {}, timeout = 120_000) {
      if (exited) return Promise.reject(new Error(`worker ${child.pid} has exited`))
      const id = ids++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`worker ${child.pid}, ${command}: no answer after ${timeout} ms`))
        }, timeout)
        pending.set(id, { command, resolve, reject, timer })
        child.send({ id, command, args })
      })
    },
    /**
     * SIGKILL (a no-op when it has exited already), resolved once it has exited. While profiling,
     * first a chance to exit by itself (a killed process writes no profile).
     */
    async stop() {
      if (exited) return
      const gone = once(child, 'exit')
      if (execArgv.length > 0 && child.connected) {
        child.disconnect()
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await gone
        clearTimeout(timer)
        return
      }
      child.kill('SIGKILL')
      await gone
    }
  }
}

/**
 * Fresh workers, forked `batch` at a time while nothing is measured (forks in parallel use both
 * cores), then handed out one by one: for sections that need a new process every round.
 */
export function spares(batch) {
  let ready = []
  return {
    async take() {
      if (ready.length === 0) ready = await Promise.all(Array.from({ length: batch }, spawn))
      return ready.shift()
    },
    async stop() {
      for (const worker of ready.splice(0)) await worker.stop()
    }
  }
}

/** Kill every worker still alive and remove the temp dir: at the end, on error and on Ctrl-C. */
export function cleanUp() {
  for (const child of live) child.kill('SIGKILL')
  live.clear()
  root?.remove()
  root = undefined
}
