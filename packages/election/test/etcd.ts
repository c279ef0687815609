import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { Etcd3 } from 'etcd3'
import { noop } from 'cockatiel'
import { freePort, tempDir } from './helpers.js'

/** The etcd binary: `$ETCD_BIN`, else `etcd` on the PATH. */
const ETCD_BIN = process.env.ETCD_BIN ?? 'etcd'

const servers = new Set<EtcdServer>()

/**
 * A real single-member etcd on free loopback ports with a temporary data directory. Tests that
 * need etcd fail without it, with a message that says how to install it: they never pass, or
 * skip, silently.
 */
export class EtcdServer {
  readonly url: string
  readonly #args: string[]
  #process: ChildProcess | undefined
  #log = ''

  private constructor(clientPort: number, peerPort: number, dataDir: string) {
    this.url = `http://127.0.0.1:${clientPort}`
    const peer = `http://127.0.0.1:${peerPort}`
    this.#args = [
      '--name=test',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${this.url}`,
      `--advertise-client-urls=${this.url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=test=${peer}`,
      '--log-level=error'
    ]
  }

  /** Start a new etcd and resolve once it answers requests. */
  static async start(): Promise<EtcdServer> {
    const probe = spawnSync(ETCD_BIN, ['--version'], { encoding: 'utf8' })
    if (probe.error !== undefined || probe.status !== 0) {
      throw new Error(
        `These tests need a real etcd server, and "${ETCD_BIN}" could not be run (${probe.error?.message ?? probe.stderr}). ` +
          'Install it: `apt-get install etcd-server` (Debian, Ubuntu), `brew install etcd` (macOS), or a release from ' +
          'https://github.com/etcd-io/etcd/releases; or set ETCD_BIN to its path. `.ci/run` installs it on CI.'
      )
    }
    const server = new EtcdServer(await freePort(), await freePort(), tempDir())
    servers.add(server)
    await server.resume()
    return server
  }

  /** Start this etcd again (same ports, same data) after {@link EtcdServer.stop}. */
  async resume(): Promise<void> {
    if (this.#process !== undefined) return
    const child = spawn(ETCD_BIN, this.#args, { stdio: ['ignore', 'ignore', 'pipe'] })
    this.#process = child
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#log = (this.#log + chunk).slice(-4000)
    })
    const client = new Etcd3({ hosts: this.url, faultHandling: { host: () => noop, global: noop } })
    const started = performance.now()
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${this.#log}`)
        try {
          await client
            .get('ready')
            .options({ deadline: Date.now() + 1000 })
            .exec()
          return
        } catch (err) {
          if (performance.now() - started > 20000) throw new Error(`etcd did not start: ${err}; ${this.#log}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    } finally {
      client.close()
    }
  }

  /** Stop etcd (SIGTERM by default) and wait until it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#process
    if (child === undefined) return
    this.#process = undefined
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill(signal)
    await exited
  }
}

/** Stop every etcd the tests started (before their data directories are removed). */
export async function stopEtcds(): Promise<void> {
  await Promise.all([...servers].map((server) => server.stop('SIGKILL')))
  servers.clear()
}
