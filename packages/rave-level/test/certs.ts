import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** PEM files of a test PKI: a CA, a server certificate for 127.0.0.1/localhost, a client certificate. */
export interface TestCertificates {
  ca: string
  serverKey: string
  serverCert: string
  clientKey: string
  clientCert: string
  /** A second CA, which signed nothing here (a client that trusts it cannot verify the server). */
  otherCa: string
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A key (P-256: cheap handshakes) and a certificate signed by `ca` (self-signed without). */
function issue(dir: string, name: string, subject: string, ext: string, ca?: string): void {
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`)
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext)
  if (ca === undefined) {
    openssl(
      dir,
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      subject,
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-extensions',
      'v3',
      '-config',
      `${name}.ext`
    )
    return
  }
  openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`, '-config', `${name}.ext`)
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
    '-extensions',
    'v3'
  )
}

const CA_EXT =
  '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
const SERVER_EXT =
  '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
const CLIENT_EXT =
  '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n'

/** Create a CA, a server and a client certificate with openssl in `dir`, and read them. */
export function createCertificates(dir: string): TestCertificates {
  issue(dir, 'ca', '/CN=rave-level test CA', CA_EXT)
  issue(dir, 'other-ca', '/CN=another CA', CA_EXT)
  issue(dir, 'server', '/CN=localhost', SERVER_EXT, 'ca')
  issue(dir, 'client', '/CN=remote follower', CLIENT_EXT, 'ca')
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8')
  return {
    ca: read('ca.pem'),
    serverKey: read('server.key'),
    serverCert: read('server.pem'),
    clientKey: read('client.key'),
    clientCert: read('client.pem'),
    otherCa: read('other-ca.pem')
  }
}
