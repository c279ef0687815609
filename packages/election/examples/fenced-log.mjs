// A resource that checks fencing tokens: an append-only job log served over TCP.
//
// Each request is one line, "<token> <job> <text>". The log remembers the greatest token it has
// seen. A request with a smaller token comes from a leader that was replaced (paused, cut off
// from etcd) and has not noticed yet: it is refused ("stale <greatest>") and nothing is written.
// A job already in the log is not written twice ("done"). Otherwise the line is appended and the
// answer is "ok". The check and the append run in one turn of this process's event loop, so
// nothing can come between them. The greatest token is kept in "<file>.fence" before anything
// is answered, so that a restarted log still refuses the leaders it refused before.
//
//   node examples/fenced-log.mjs <file> [port=7400] [host=127.0.0.1]
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

/**
 * Serve the job log at `file` on `port` (0: any free port) of `host`.
 *
 * @returns {Promise<{ port: number, close(): Promise<void> }>}
 */
export async function serveFencedLog(file, port = 0, host = '127.0.0.1') {
  const fence = `${file}.fence`
  let greatest = existsSync(fence) ? BigInt(readFileSync(fence, 'utf8')) : -1n
  const jobs = new Set()
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [, job] = line.split(' ')
      if (job !== undefined) jobs.add(job)
    }
  }

  const handle = (line) => {
    const [token, job, ...text] = line.split(' ')
    if (job === undefined || !/^\d+$/.test(token)) return 'invalid'
    const t = BigInt(token)
    if (t < greatest) return `stale ${greatest}`
    if (t > greatest) {
      // A new leader: keep its token in the fence file before answering anything it asked.
      writeFileSync(fence, String(t))
      greatest = t
    }
    if (jobs.has(job)) return 'done'
    jobs.add(job)
    appendFileSync(file, `${token} ${job} ${text.join(' ')}\n`)
    return 'ok'
  }

  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    socket.setEncoding('utf8').on('data', (chunk) => {
      buffered += chunk
      let end = buffered.indexOf('\n')
      while (end !== -1) {
        socket.write(`${handle(buffered.slice(0, end))}\n`)
        buffered = buffered.slice(end + 1)
        end = buffered.indexOf('\n')
      }
    })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  return {
    port: server.address().port,
    close() {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    }
  }
}

/**
 * Connect to a job log. `append(token, job, text)` resolves with its answer: `'ok'`, `'done'`,
 * or `'stale <greatest>'`; it rejects when the connection fails.
 */
export function connectFencedLog(port, host = '127.0.0.1') {
  const socket = net.connect(port, host).setEncoding('utf8')
  const waiting = []
  let buffered = ''
  let failure
  const fail = (err) => {
    failure = err
    for (const { reject } of waiting.splice(0)) reject(err)
  }
  socket.on('error', fail)
  socket.on('close', () => fail(failure ?? new Error('The job log closed the connection')))
  socket.on('data', (chunk) => {
    buffered += chunk
    let end = buffered.indexOf('\n')
    while (end !== -1) {
      waiting.shift()?.resolve(buffered.slice(0, end))
      buffered = buffered.slice(end + 1)
      end = buffered.indexOf('\n')
    }
  })
  return {
    append(token, job, text = '') {
      if (failure !== undefined) return Promise.reject(failure)
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject })
        socket.write(`${token} ${job} ${text}\n`)
      })
    },
    close() {
      socket.destroy()
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, port = '7400', host = '127.0.0.1'] = process.argv.slice(2)
  if (file === undefined) {
    console.error('usage: node examples/fenced-log.mjs <file> [port=7400] [host=127.0.0.1]')
    process.exit(2)
  }
  const log = await serveFencedLog(file, Number(port), host)
  console.log(`job log ${file} on ${host}:${log.port}`)
}
