// The fencing token in the handshake between a follower and the leader of a LeaseElection.
//
// Every candidate serves an endpoint (a tcp://host:port here; tls:// with credentials across
// untrusted networks); the leader's is the election's value, which followers read from etcd
// together with the leader's token. On each connection the leader sends its token first, and a
// follower checks that it is the token etcd named: so it never takes a process that no longer
// leads (or does not lead yet) for the leader. Only a valid leadership answers.
import net from 'node:net'

/**
 * Serve the handshake on a free port of `host` (an address other machines can reach, when they
 * run candidates too). Resolves with the endpoint to publish as the election's value, and the
 * server (unref'd).
 *
 * @param {() => import('@rave-level/election').Leadership | undefined} leadership
 * @param {string} [host]
 */
export async function serveHandshake(leadership, host = '127.0.0.1') {
  const server = net.createServer((socket) => {
    const current = leadership()
    if (current?.valid) socket.end(`${current.token} ${process.pid}\n`)
    else socket.destroy()
  })
  await new Promise((resolve) => server.listen(0, host, resolve))
  server.unref()
  return { endpoint: `tcp://${host}:${server.address().port}`, server }
}

/**
 * Connect to the leader `election` names and check its token. A follower may read the leader's
 * key from etcd before the leader has read it too, so the handshake is tried again while etcd
 * still names the same leader. Resolves with `{ confirmed, told, pid }`.
 *
 * @param {import('@rave-level/election/lease').LeaseElection} election
 * @param {import('@rave-level/election').LeaderInfo} leader
 */
export function confirmLeader(election, { value, token }) {
  return new Promise((resolve) => {
    const attempt = () => {
      const { hostname, port } = new URL(value)
      const socket = net.connect(Number(port), hostname).setEncoding('utf8')
      let answer = ''
      socket.on('data', (chunk) => {
        answer += chunk
      })
      socket.on('error', () => {})
      socket.on('close', () => {
        const [told = '', pid] = answer.trim().split(' ')
        const confirmed = told === String(token)
        if (!confirmed && election.role === 'follower' && election.leader?.token === token) setTimeout(attempt, 20)
        else resolve({ confirmed, told, pid: Number(pid) })
      })
    }
    attempt()
  })
}
