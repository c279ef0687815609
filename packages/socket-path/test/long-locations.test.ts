import fs from 'node:fs'
import net from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { socketPath } from '../src/index.js'
import { TempRoots, longLocation } from './temp-root.js'

const roots = new TempRoots()
const servers: net.Server[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
  roots.cleanup()
})

async function serve(endpoint: string, name: string): Promise<void> {
  const server = net.createServer((socket) => socket.end(name))
  servers.push(server)
  server.listen(endpoint)
  await once(server, 'listening')
}

async function ask(endpoint: string): Promise<string> {
  const socket = net.connect(endpoint)
  let reply = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    reply += chunk
  })
  await once(socket, 'end')
  socket.destroy()
  return reply
}

describe.skipIf(process.platform === 'win32')('long locations', () => {
  it('two 150-byte locations differing in their last character get their own live servers', async () => {
    const root = roots.create()
    const a = longLocation(root, 150, '1')
    const b = longLocation(root, 150, '2')
    fs.mkdirSync(a, { recursive: true })
    fs.mkdirSync(b, { recursive: true })

    // What upstream rave-level 1.0.0 would use: identical once Node truncates to 107 bytes.
    expect(Buffer.byteLength(a)).toBe(150)
    expect((a + '/rave-level.sock').slice(0, 107)).toBe((b + '/rave-level.sock').slice(0, 107))

    const options = { tmpdir: root, env: {} }
    const endpointA = socketPath(a, options)
    const endpointB = socketPath(b, options)

    expect(endpointA).not.toBe(endpointB)
    expect(Buffer.byteLength(endpointA)).toBeLessThanOrEqual(107)
    expect(Buffer.byteLength(endpointB)).toBeLessThanOrEqual(107)

    await serve(endpointA, 'A')
    await serve(endpointB, 'B') // both listening at once: no EADDRINUSE

    expect(await ask(socketPath(a, options))).toBe('A')
    expect(await ask(socketPath(b, options))).toBe('B')
  })
})
