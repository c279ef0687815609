import fs from 'node:fs'
import net from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { type Endpoint, openEndpoint, socketPath } from '../src/index.js'
import { TempRoots, longLocation } from './temp-root.js'

const roots = new TempRoots()
const servers: net.Server[] = []
const endpoints: Endpoint[] = []

afterEach(async () => {
  // Servers first: closing one unlinks its socket through the endpoint's path.
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
  for (const endpoint of endpoints.splice(0)) endpoint.close()
  roots.cleanup()
})

function open(location: string, options: object): Endpoint {
  const endpoint = openEndpoint(location, options)
  endpoints.push(endpoint)
  return endpoint
}

async function serve(endpoint: Endpoint, name: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end(name))
  servers.push(server)
  server.listen(endpoint.path)
  await once(server, 'listening')
  return server
}

/** Connect as a follower does: open, connect, close the endpoint as soon as connected. */
async function ask(location: string, options: object): Promise<string> {
  const endpoint = openEndpoint(location, options)
  const socket = net.connect(endpoint.path)
  await once(socket, 'connect').finally(() => endpoint.close())
  let reply = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    reply += chunk
  })
  await once(socket, 'end')
  socket.destroy()
  return reply
}

/** How many file descriptors of `dir` this process has open (Linux). */
function openFds(dir: string): number {
  let count = 0
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === dir) count++
    } catch {
      // Closed since the listing (the listing's own descriptor, for one).
    }
  }
  return count
}

const linux = process.platform === 'linux'

describe.skipIf(process.platform === 'win32')('long locations', () => {
  for (const { where, procFd, skip } of [
    { where: 'inside the locations, through /proc/self/fd (Linux)', procFd: true, skip: !linux },
    { where: 'in the private directory (systems without /proc/self/fd)', procFd: false, skip: false }
  ]) {
    it.skipIf(skip)(
      `two 150-byte locations differing in their last character get their own live servers ${where}`,
      async () => {
        const root = roots.create()
        const a = longLocation(root, 150, '1')
        const b = longLocation(root, 150, '2')
        fs.mkdirSync(a, { recursive: true })
        fs.mkdirSync(b, { recursive: true })

        // What upstream rave-level 1.0.0 would use: identical once Node truncates to 107 bytes.
        expect(Buffer.byteLength(a)).toBe(150)
        expect((a + '/rave-level.sock').slice(0, 107)).toBe((b + '/rave-level.sock').slice(0, 107))

        const options = { tmpdir: root, env: {}, procFd }
        const endpointA = open(a, options)
        const endpointB = open(b, options)

        expect(endpointA.name).toBe(socketPath(a, options))
        expect(endpointA.name).not.toBe(endpointB.name)
        expect(Buffer.byteLength(endpointA.path)).toBeLessThanOrEqual(107)
        expect(Buffer.byteLength(endpointB.path)).toBeLessThanOrEqual(107)

        await serve(endpointA, 'A')
        await serve(endpointB, 'B') // both listening at once: no EADDRINUSE

        if (procFd) {
          expect(endpointA.name).toBe(`${a}/rave-level.sock`)
          expect(fs.lstatSync(`${a}/rave-level.sock`).isSocket()).toBe(true)
          expect(fs.lstatSync(`${b}/rave-level.sock`).isSocket()).toBe(true)
        }
        expect(await ask(a, options)).toBe('A')
        expect(await ask(b, options)).toBe('B')
      }
    )
  }

  it.skipIf(!linux)('holds one descriptor of the location while open, none once closed or connected', async () => {
    const root = roots.create()
    const location = longLocation(root, 150, 'x')
    fs.mkdirSync(location, { recursive: true })
    expect(openFds(location)).toBe(0)

    const leader = openEndpoint(location)
    expect(leader.path).toMatch(/^\/proc\/self\/fd\/\d+\/rave-level\.sock$/)
    expect(openFds(location)).toBe(1)
    const server = net.createServer((socket) => socket.end('hi'))
    server.listen(leader.path)
    await once(server, 'listening')

    for (let i = 0; i < 20; i++) expect(await ask(location, {})).toBe('hi')
    expect(openFds(location)).toBe(1) // each follower's descriptor is closed once connected

    await new Promise((resolve) => server.close(resolve))
    // libuv unlinked the socket through the descriptor, which must still be open for that.
    expect(fs.existsSync(`${location}/rave-level.sock`)).toBe(false)
    leader.close()
    leader.close() // idempotent
    expect(openFds(location)).toBe(0)
  })

  it.skipIf(!linux)("keeps a short location's endpoint its own name, holding nothing", () => {
    const root = roots.create()
    fs.mkdirSync(`${root}/db`)
    const endpoint = openEndpoint(`${root}/db`)
    expect(endpoint.path).toBe(`${root}/db/rave-level.sock`)
    expect(endpoint.name).toBe(endpoint.path)
    expect(openFds(`${root}/db`)).toBe(0)
    endpoint.close()
  })

  it.skipIf(!linux)('refuses to open a long location that does not exist, or is a file', () => {
    const root = roots.create()
    const location = longLocation(root, 150, 'x')
    expect(() => openEndpoint(location)).toThrow(expect.objectContaining({ code: 'ENOENT' }))
    fs.mkdirSync(location.slice(0, location.lastIndexOf('/')), { recursive: true })
    fs.writeFileSync(location, '')
    expect(() => openEndpoint(location)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }))
  })
})
