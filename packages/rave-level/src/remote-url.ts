import { isLoopback } from './listen-options.js'

/** Where a remote follower connects: `tls://host:port`, or `tcp://host:port` (loopback only). @internal */
export interface RemoteUrl {
  /** As given, for messages. */
  href: string
  tls: boolean
  host: string
  port: number
}

/**
 * Parse a remote database URL: `tls://host:port` or, on loopback only, `tcp://host:port` (plain
 * TCP would show the token and the data to the network). IPv6 hosts in brackets.
 *
 * @throws {TypeError} For anything else (another scheme, no port, a path, plain TCP to a network address).
 * @internal
 */
export function parseRemoteUrl(url: string): RemoteUrl {
  if (typeof url !== 'string') throw new TypeError("The first argument 'url' must be a string")
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`Not a URL: ${url} (expected tls://host:port)`)
  }
  const scheme = parsed.protocol
  if (scheme !== 'tls:' && scheme !== 'tcp:') throw new TypeError(`Unsupported scheme in ${url}: use tls://host:port`)
  const port = Number(parsed.port)
  if (parsed.port === '' || !Number.isInteger(port) || port < 1)
    throw new TypeError(`No port in ${url}: use tls://host:port`)
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.username !== '')
    throw new TypeError(`Unexpected path, query or user in ${url}: use tls://host:port (credentials go in options)`)
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname
  if (scheme === 'tcp:' && !isLoopback(host))
    throw new TypeError(
      `Refusing plain TCP to ${host}: the token and the data would cross the network in clear; use tls://`
    )
  return { href: url, tls: scheme === 'tls:', host, port }
}

/** Whether `url` names a remote database rather than a location on disk. @internal */
export function isRemoteUrl(url: string): boolean {
  return /^(tls|tcp):\/\//i.test(url)
}
