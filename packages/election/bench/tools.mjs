// What the benchmarks share: figures and ports.
import net from 'node:net'

/** Median, p95, p99, min and max of `values` (ms), as one line. */
export function summary(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
  const ms = (v) => `${v.toFixed(2)} ms`
  return `median ${ms(at(0.5))}, p95 ${ms(at(0.95))}, p99 ${ms(at(0.99))}, min ${ms(sorted[0])}, max ${ms(sorted.at(-1))}`
}

// Below the kernel's ephemeral range, so that no outbound connection takes it meanwhile (see
// test/helpers.ts).
export async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000)
    const free = await new Promise((resolve) => {
      const server = net.createServer()
      server.once('error', () => resolve(false))
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
}
