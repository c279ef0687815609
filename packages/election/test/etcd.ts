import { EtcdProcess } from './fixtures/etcd-server.mjs'
import { freePort, tempDir } from './helpers.js'

const servers = new Set<EtcdProcess>()

/**
 * A real single-member etcd on free loopback ports with a temporary data directory. Tests that
 * need etcd fail without it, with a message that says how to install it: they never pass, or
 * skip, silently.
 */
export async function startEtcd(): Promise<EtcdProcess> {
  const server = new EtcdProcess({ clientPort: await freePort(), peerPort: await freePort(), dataDir: tempDir() })
  servers.add(server)
  await server.start()
  return server
}

/** Stop every etcd the tests started (before their data directories are removed). */
export async function stopEtcds(): Promise<void> {
  await Promise.all([...servers].map((server) => server.stop('SIGKILL')))
  servers.clear()
}
