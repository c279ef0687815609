import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TempRoots, longLocation } from './temp-root.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const peer = path.join(here, 'fixtures', 'endpoint-peer.mjs')
const roots = new TempRoots()
const children: ChildProcess[] = []

beforeAll(() => {
  if (!fs.existsSync(path.join(here, '..', 'dist', 'index.js'))) {
    throw new Error('Build the package first: the fixtures import dist/')
  }
})

afterEach(async () => {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill()
        await exited
      }
    })
  )
  roots.cleanup()
})

/** A private runtime directory and temporary directory for one peer. */
function environment(root: string, name: string): NodeJS.ProcessEnv {
  const runtime = path.join(root, `run-${name}`)
  const tmpdir = path.join(root, `tmp-${name}`)
  fs.mkdirSync(runtime, { mode: 0o700 })
  fs.mkdirSync(tmpdir, { mode: 0o700 })
  return { ...process.env, XDG_RUNTIME_DIR: runtime, TMPDIR: tmpdir }
}

function start(role: 'lead' | 'follow', location: string, env: NodeJS.ProcessEnv, options: object = {}): ChildProcess {
  const child = fork(peer, [role, location, JSON.stringify(options)], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  children.push(child)
  return child
}

/** The peer's first message, or an error if it exits (and its IPC channel closes) without sending one. */
async function message<T>(child: ChildProcess): Promise<T> {
  const [value] = await Promise.race([once(child, 'message'), once(child, 'close').then(() => [undefined])])
  if (value === undefined) throw new Error(`peer exited with ${child.exitCode ?? child.signalCode} before reporting`)
  return value as T
}

describe.skipIf(process.platform === 'win32')('processes with different TMPDIR and XDG_RUNTIME_DIR', () => {
  it.skipIf(process.platform !== 'linux')('agree on the in-location socket of a long location on linux', async () => {
    const root = roots.create()
    const location = longLocation(root, 150, 'x')
    fs.mkdirSync(location, { recursive: true })

    const leader = start('lead', location, environment(root, 'a'))
    const led = await message<{ endpoint: string; pid: number }>(leader)
    const follower = start('follow', path.relative(process.cwd(), location), environment(root, 'b'))
    const followed = await message<{ endpoint: string; own: string; reply: string }>(follower)

    expect(led.endpoint).toBe(path.join(location, 'rave-level.sock'))
    expect(followed.own).toBe(led.endpoint)
    expect(followed.endpoint).toBe(led.endpoint)
    expect(followed.reply).toBe(`leader ${led.pid}`)
  })

  it('agree on the endpoint of a long location without /proc/self/fd: one publishes, the other reads and connects', async () => {
    const root = roots.create()
    const location = longLocation(root, 150, 'x')
    fs.mkdirSync(location, { recursive: true })
    const options = { procFd: false }

    const leader = start('lead', location, environment(root, 'a'), options)
    const led = await message<{ endpoint: string; pid: number }>(leader)

    expect(led.endpoint.startsWith(path.join(root, 'run-a', 'rave-level') + '/')).toBe(true)

    const follower = start('follow', path.relative(process.cwd(), location), environment(root, 'b'), options)
    const followed = await message<{ endpoint: string; own: string; reply: string }>(follower)

    // Without the record the follower would have looked in its own runtime directory.
    expect(followed.own.startsWith(path.join(root, 'run-b', 'rave-level') + '/')).toBe(true)
    expect(followed.own).not.toBe(led.endpoint)
    expect(followed.endpoint).toBe(led.endpoint)
    expect(followed.reply).toBe(`leader ${led.pid}`)
  })

  it('agree on the in-location socket of a short location', async () => {
    const root = roots.create()
    const location = path.join(root, 'db')
    fs.mkdirSync(location)

    const leader = start('lead', location, environment(root, 'a'))
    const led = await message<{ endpoint: string; pid: number }>(leader)
    const follower = start('follow', location, environment(root, 'b'))
    const followed = await message<{ endpoint: string; own: string; reply: string }>(follower)

    expect(led.endpoint).toBe(path.join(location, 'rave-level.sock'))
    expect(followed.own).toBe(led.endpoint)
    expect(followed.endpoint).toBe(led.endpoint)
    expect(followed.reply).toBe(`leader ${led.pid}`)
  })
})
