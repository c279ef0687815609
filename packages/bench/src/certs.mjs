// A CA and a server certificate for 127.0.0.1, made with openssl for the remote section (the
// same recipe as SECURITY.md's), and a token: loopback TLS exactly as a deployment would use it.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { newLocation } from './procs.mjs'

let made

/** `{ ca, key, cert, token }` (PEM strings and a token), made once per run. */
export function credentials() {
  if (made !== undefined) return made
  const dir = newLocation()
  fs.mkdirSync(dir, { recursive: true })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=bench CA', '-keyout', 'ca.key', '-out', 'ca.pem')
  openssl('req', ...ec, '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr')
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.pem'
  )
  const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8')
  made = {
    ca: read('ca.pem'),
    key: read('server.key'),
    cert: read('server.pem'),
    token: randomBytes(32).toString('hex')
  }
  return made
}
