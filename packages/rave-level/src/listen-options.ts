import net from 'node:net'
import type tls from 'node:tls'
import { type Access, AuthGate, type TokenGrant } from '@rave-level/host'

/**
 * The `listen` option of `RaveLevel`: whichever instance leads also serves the database on this
 * TCP address (the next leader binds the same address after a failover). Nothing listens on
 * TCP unless this is given.
 */
export interface ListenOptions {
  /** Address to bind. Default `'127.0.0.1'`. Any address but loopback needs `tls`. */
  host?: string | undefined
  /** Port to bind, 1 to 65535 (the same for every leader, so that followers find the next one). */
  port: number
  /**
   * Serve TLS: Node's `tls.createServer` options (`key`, `cert`, `ca`, ...), required for any
   * address other than loopback. With `clientCertificates`, clients are asked for a
   * certificate, verified against `ca`, and one that verifies is granted that access without a
   * token (mutual TLS).
   */
  tls?: (tls.TlsOptions & { clientCertificates?: Access | undefined }) | undefined
  /** Bearer tokens (16 to 1024 characters) and what each grants (`'readwrite'` or `'readonly'`). */
  tokens?: readonly TokenGrant[] | undefined
  /** Serve plain TCP without `tls`: allowed on loopback only, for tests and benchmarks. */
  insecure?: boolean | undefined
  /** Ms a connection has to authenticate (TLS handshake, then credentials). Default 5000. */
  authTimeout?: number | undefined
  /**
   * Connections authenticating (TLS handshake, then credentials) at a time; more are dropped
   * as they are accepted. Each costs about 40 KiB while it lasts (mostly OpenSSL's buffers), so
   * this bounds what unauthenticated peers cost the leader. Default 256.
   */
  maxUnauthenticated?: number | undefined
}

/** A checked {@link ListenOptions}. @internal */
export interface ListenConfig {
  host: string
  port: number
  tls: tls.TlsOptions | undefined
  gate: AuthGate
  authTimeout: number
  maxUnauthenticated: number
}

const DEFAULT_AUTH_TIMEOUT = 5000
const DEFAULT_MAX_UNAUTHENTICATED = 256

/**
 * Check `options` and build the gate: TLS is required for any address other than loopback;
 * `insecure` (plain TCP) is accepted on loopback only; something must be able to authenticate.
 *
 * @throws {TypeError} For a refused combination (with the reason) or an option of the wrong type.
 * @throws {RangeError} For a port, a token length or a number out of bounds.
 * @internal
 */
export function resolveListen(options: ListenOptions): ListenConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError("The 'listen' option must be an object")
  const { host = '127.0.0.1', port, tls: tlsOptions, tokens, insecure = false } = options
  if (typeof host !== 'string' || host === '')
    throw new TypeError("The 'listen.host' option must be a non-empty string")
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError("The 'listen.port' option must be an integer from 1 to 65535")
  if (typeof insecure !== 'boolean') throw new TypeError("The 'listen.insecure' option must be a boolean")
  const loopback = isLoopback(host)
  if (tlsOptions === undefined) {
    if (!loopback)
      throw new TypeError(
        `Refusing to listen on ${host} without TLS: anyone on the network could read the data and the tokens. Pass listen.tls`
      )
    if (!insecure)
      throw new TypeError(
        `Refusing to listen on ${host} without TLS; pass listen.tls, or listen.insecure: true (loopback only)`
      )
  } else if (insecure) {
    throw new TypeError("The 'listen.insecure' option cannot be combined with 'listen.tls'")
  }
  const { clientCertificates, ...serverOptions } = tlsOptions ?? {}
  if (clientCertificates !== undefined && serverOptions.ca === undefined)
    throw new TypeError("The 'listen.tls.clientCertificates' option needs 'listen.tls.ca' to verify them")
  if ((tokens === undefined || tokens.length === 0) && clientCertificates === undefined)
    throw new TypeError(
      "Nothing could authenticate: pass 'listen.tokens', or 'listen.tls.clientCertificates' with 'listen.tls.ca'"
    )
  const authTimeout = options.authTimeout ?? DEFAULT_AUTH_TIMEOUT
  const maxUnauthenticated = options.maxUnauthenticated ?? DEFAULT_MAX_UNAUTHENTICATED
  const gate = new AuthGate({
    tokens,
    certificateAccess: clientCertificates,
    timeout: authTimeout,
    maxPending: maxUnauthenticated
  })
  const server =
    tlsOptions === undefined
      ? undefined
      : {
          ...serverOptions,
          // Ask for a certificate, but let a client without one in: it may have a token. The gate
          // decides, from the socket's `authorized`.
          ...(clientCertificates === undefined ? {} : { requestCert: true, rejectUnauthorized: false })
        }
  return { host, port, tls: server, gate, authTimeout, maxUnauthenticated }
}

/**
 * Whether `host` names this machine's loopback interface only: `localhost`, 127.0.0.0/8 or
 * `::1`. Anything else (a wildcard such as `0.0.0.0`, or any name) is taken as reachable from
 * the network.
 * @internal
 */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare.toLowerCase() === 'localhost') return true
  if (net.isIPv4(bare)) return bare.startsWith('127.')
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare)
  return false
}
