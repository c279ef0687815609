import net from 'node:net'

/** A TCP proxy to a loopback port that can stop forwarding, as a network partition does. */
export interface Proxy {
  port: number
  /**
   * Stop forwarding in both directions: connections stay open and nothing is refused, but
   * nothing gets through (new connections are accepted and held too), as when packets are
   * dropped and TCP keeps retrying.
   */
  pause(): void
  /** Forward again, including what was held meanwhile (TCP delivers late, not never). */
  resume(): void
  close(): Promise<void>
}

const proxies = new Set<Proxy>()

/** Start a proxy on a free loopback port that forwards to `target` on 127.0.0.1. */
export async function startProxy(target: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>()
  let paused = false
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, '127.0.0.1')
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound]
    ] as const) {
      sockets.add(from)
      if (paused) from.pause()
      from.on('data', (chunk) => to.write(chunk))
      from.on('error', () => to.destroy())
      from.on('close', () => {
        sockets.delete(from)
        to.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxy: Proxy = {
    port: (server.address() as net.AddressInfo).port,
    pause() {
      paused = true
      for (const socket of sockets) socket.pause()
    },
    resume() {
      paused = false
      for (const socket of sockets) socket.resume()
    },
    async close() {
      proxies.delete(proxy)
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
  proxies.add(proxy)
  return proxy
}

/** Close every proxy the tests started. */
export async function closeProxies(): Promise<void> {
  await Promise.all([...proxies].map((proxy) => proxy.close()))
}
