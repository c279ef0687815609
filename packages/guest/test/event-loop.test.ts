import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryHost, serve, sleep, tempDir } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/socket-guest.mjs', import.meta.url))

const children = new Set<ChildProcess>()

function run(path: string, mode: 'settle' | 'pending'): { child: ChildProcess; output: Promise<string> } {
  const child = fork(fixture, [path, mode], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  children.add(child)
  child.on('exit', () => children.delete(child))
  // The IPC channel would keep the child alive by itself.
  child.disconnect()
  let out = ''
  child.stdout?.on('data', (chunk) => (out += chunk))
  const output = new Promise<string>((resolve) => child.stdout?.on('end', () => resolve(out)))
  return { child, output }
}

describe('the event loop', () => {
  const cleanup: (() => unknown)[] = []
  afterEach(async () => {
    // A child that failed the test by staying alive is killed here.
    for (const child of children) child.kill('SIGKILL')
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  it('is not held once every operation settled', async () => {
    const { host } = memoryHost()
    const server = await serve(host)
    cleanup.push(() => server.close())
    for (let i = 0; i < 3; i++) {
      const { child, output } = run(server.path, 'settle')
      const [code] = await once(child, 'exit')
      expect(code).toBe(0)
      expect(await output).toBe('settled 1 a,b\n')
    }
  }, 30_000)

  it('is held while an operation waits for a host that never answers', async () => {
    const dir = tempDir()
    const path = join(dir.path, 's')
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.resume() // read and ignore every request
    })
    await new Promise<void>((resolve) => server.listen(path, resolve))
    cleanup.push(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }, dir.remove)

    const { child } = run(path, 'pending')
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()))
    await sleep(500)
    expect(child.exitCode).toBeNull()
    expect(child.signalCode).toBeNull()
  }, 30_000)
})
