import net from 'node:net'
import { createCertificates, type TestCertificates } from './certs.js'
import { RaveLevel } from '../dist/index.js'
import { defer, tempDir } from './helpers.js'

/** Tokens of the tests: long enough for the gate (16+ characters). */
export const TOKEN = 'test-token-readwrite-0123456789abcdef'
export const READ_TOKEN = 'test-token-readonly-0123456789abcdef'

let certs: TestCertificates | undefined

/** The test PKI, created once per test file in its own temp dir. */
export function certificates(): TestCertificates {
  certs ??= createCertificates(tempDir())
  return certs
}

/** A free TCP port on loopback (bound and released, so that a leader can bind it next). */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The `listen` option of a TLS leader on loopback `port` with both tokens. */
export function tlsListen(port: number, extra: object = {}): object {
  const c = certificates()
  return {
    host: '127.0.0.1',
    port,
    tls: { key: c.serverKey, cert: c.serverCert },
    tokens: [
      { token: TOKEN, access: 'readwrite' },
      { token: READ_TOKEN, access: 'readonly' }
    ],
    ...extra
  }
}

/** A leader of a new database that listens with {@link tlsListen} on `port` (closed after the test). */
export function tlsLeader(port: number, extra: object = {}): RaveLevel {
  const db = new RaveLevel(tempDir(), { listen: tlsListen(port, extra) as never })
  defer(() => db.close())
  return db
}

/** Options of a remote follower of such a leader. */
export function remoteOptions(token: string | undefined = TOKEN, extra: object = {}): object {
  return { tls: { ca: certificates().ca }, token, ...extra }
}

/**
 * A TCP proxy on loopback in front of `target`, which can go silent: while `paused`, it
 * forwards nothing either way (what arrives is dropped) and keeps every connection open, new
 * ones included, as a network path that stopped delivering without closing anything.
 */
export class SilentProxy {
  paused = false
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()

  constructor(target: number) {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1')
      for (const [from, to] of [
        [client, upstream],
        [upstream, client]
      ] as const) {
        this.#sockets.add(from)
        from.on('error', () => {})
        from.on('data', (chunk) => {
          if (!this.paused) to.write(chunk)
        })
        from.on('close', () => {
          this.#sockets.delete(from)
          // A path that is down does not pass on a close either.
          if (!this.paused) to.destroy()
        })
      }
    })
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    return (this.#server.address() as net.AddressInfo).port
  }

  /** Connections open through the proxy (both sides). */
  get connections(): number {
    return this.#sockets.size / 2
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise((resolve) => this.#server.close(resolve))
  }
}

/**
 * Resolve once something accepts TCP connections on loopback `port`: a leader binds its port a
 * moment after it announced 'leader' (remote followers retry; raw test clients must wait).
 */
export async function listening(port: number, timeout = 10_000): Promise<void> {
  const started = Date.now()
  while (true) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() - started > timeout) throw new Error(`Nothing listens on port ${port}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
