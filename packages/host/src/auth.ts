import { createHash, timingSafeEqual } from 'node:crypto'
import type { Duplex } from 'node:stream'
import {
  AUTH_FAILED,
  decodeInput,
  encodeOutput,
  FRAME_TOO_LARGE,
  type FrameRefusal,
  firstFrame,
  Input,
  Output,
  PROTOCOL_ERROR,
  wireMessage
} from '@rave-level/protocol'
import { positive } from './level-host.js'

/** What a credential grants: everything, or reads and watches only (writes get `LEVEL_READONLY`). */
export type Access = 'readwrite' | 'readonly'

/** A bearer token and what it grants. */
export interface TokenGrant {
  /** The token, 16 to 1024 characters. Compared in constant time, as a SHA-256 digest. */
  token: string
  access: Access
}

/** Options of {@link AuthGate}. */
export interface AuthGateOptions {
  /** The tokens that open a connection, each with its access. */
  tokens?: readonly TokenGrant[] | undefined
  /**
   * What a connection whose TLS client certificate was verified (mutual TLS: the socket's
   * `authorized`) is granted when it sends no token. Unset: a certificate alone grants nothing.
   */
  certificateAccess?: Access | undefined
  /** Ms a connection has, from the moment it is handed to the gate, to authenticate. Default 5000. */
  timeout?: number | undefined
  /** Bytes a connection may send before it authenticated. Default 4096. */
  maxBytes?: number | undefined
  /** Connections waiting to authenticate at a time; more are dropped at once. Default 1024. */
  maxPending?: number | undefined
}

/** The answer to an unauthenticated connection that the gate cannot use. */
type Refusal = FrameRefusal

/** The socket of a connection: any duplex stream; a TLS socket says whether its peer's certificate was verified. */
export type GatedSocket = Duplex & { authorized?: boolean }

const DEFAULT_TIMEOUT = 5000
const DEFAULT_MAX_BYTES = 4096
const DEFAULT_MAX_PENDING = 1024
const MIN_TOKEN = 16
const MAX_TOKEN = 1024
/** Ms a refused peer gets to read its refusal before its connection is cut. */
const GRACE = 1000

/**
 * The door of a network listener: nothing of a connection reaches a {@link LevelHost} before it
 * authenticated. Its first frame must be an `Auth` (a bearer token, or none when its TLS client
 * certificate was verified); the gate answers with one `AuthResult` and either hands the socket
 * on, with the access it was granted, or closes it after that one coded error
 * (`LEVEL_AUTH_FAILED` for wrong or missing credentials, `LEVEL_PROTOCOL_ERROR` for bytes that
 * are not a frame, `LEVEL_FRAME_TOO_LARGE` for more than `maxBytes`, `LEVEL_AUTH_FAILED` again
 * for a connection that says nothing for `timeout` ms).
 *
 * What an unauthenticated connection costs is bounded: at most `maxBytes` of input held, one
 * timer, for at most `timeout` ms, and at most `maxPending` such connections at once (beyond
 * that, a new one is dropped without an answer, as an overloaded `sshd` does).
 *
 * Tokens are compared as SHA-256 digests with `timingSafeEqual`, against every configured token
 * (no early exit), so that the time taken says nothing about how much of a token was right.
 *
 * @throws {TypeError} If a token or an access is not of the right type.
 * @throws {RangeError} If a token's length is out of bounds, or a number is not a positive integer.
 */
export class AuthGate {
  readonly #tokens: { digest: Buffer; access: Access }[]
  readonly #certificateAccess: Access | undefined
  readonly #timeout: number
  readonly #maxBytes: number
  readonly #maxPending: number
  #pending = 0

  constructor(options: AuthGateOptions) {
    const tokens = options.tokens ?? []
    if (!Array.isArray(tokens)) throw new TypeError("The 'tokens' option must be an array")
    this.#tokens = tokens.map((grant: TokenGrant) => {
      const { token, access } = grant ?? {}
      if (typeof token !== 'string') throw new TypeError('A token must be a string')
      if (token.length < MIN_TOKEN || token.length > MAX_TOKEN)
        throw new RangeError(`A token must have ${MIN_TOKEN} to ${MAX_TOKEN} characters`)
      return { digest: digest(token), access: checkAccess(access, 'access') }
    })
    this.#certificateAccess =
      options.certificateAccess === undefined ? undefined : checkAccess(options.certificateAccess, 'certificateAccess')
    this.#timeout = positive(options.timeout, DEFAULT_TIMEOUT, 'timeout')
    this.#maxBytes = positive(options.maxBytes, DEFAULT_MAX_BYTES, 'maxBytes')
    this.#maxPending = positive(options.maxPending, DEFAULT_MAX_PENDING, 'maxPending')
  }

  /** Connections waiting to authenticate now. */
  get pending(): number {
    return this.#pending
  }

  /**
   * Authenticate `socket`. Once it did, `admitted` gets it (paused, with whatever it sent after
   * its `Auth` put back) and its access; otherwise it is closed. The gate adds an `'error'`
   * listener, so that a reset connection cannot crash the process.
   */
  admit(socket: GatedSocket, admitted: (socket: GatedSocket, access: Access) => void): void {
    socket.on('error', ignore)
    if (this.#pending >= this.#maxPending) {
      socket.destroy()
      return
    }
    this.#pending++
    let input: Buffer = EMPTY
    let done = false
    const finish = (): void => {
      done = true
      this.#pending--
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('close', onClose)
    }
    const refuse = (refusal: Refusal): void => {
      finish()
      refuseWith(socket, refusal)
    }
    const onClose = (): void => {
      if (!done) finish()
    }
    const onData = (chunk: Buffer): void => {
      if (done) return
      input = input.length === 0 ? chunk : Buffer.concat([input, chunk])
      const frame = firstFrame(input, this.#maxBytes)
      if (frame === 'partial') {
        if (input.length > this.#maxBytes) refuse(tooMuch(this.#maxBytes))
        return
      }
      if (!('body' in frame)) {
        refuse(frame)
        return
      }
      const verdict = this.#judge(frame.body, socket.authorized === true)
      if (typeof verdict !== 'string') {
        refuse(verdict)
        return
      }
      finish()
      socket.pause()
      socket.write(encodeOutput(Output.authResult, { access: verdict }))
      if (frame.rest.length > 0) socket.unshift(frame.rest)
      admitted(socket, verdict)
    }
    const timer = setTimeout(
      () => refuse({ code: AUTH_FAILED, message: `No credentials within ${this.#timeout} ms` }),
      this.#timeout
    )
    timer.unref()
    socket.on('data', onData)
    socket.once('close', onClose)
  }

  /** The access the first frame `body` earns, or why it earns none. */
  #judge(body: Buffer, certified: boolean): Access | Refusal {
    let decoded: ReturnType<typeof decodeInput>
    try {
      decoded = decodeInput(body)
    } catch (err) {
      return { code: PROTOCOL_ERROR, message: wireMessage(err) ?? 'Invalid frame' }
    }
    if (decoded.tag !== Input.auth) return { code: AUTH_FAILED, message: 'Authenticate first (an Auth frame)' }
    const { token } = decoded.message
    if (token === undefined || token === '') {
      if (certified && this.#certificateAccess !== undefined) return this.#certificateAccess
      return { code: AUTH_FAILED, message: 'No credentials' }
    }
    const presented = digest(token)
    let access: Access | undefined
    for (const grant of this.#tokens) {
      // Every grant is compared, whichever matched: the time taken must not depend on which.
      if (timingSafeEqual(presented, grant.digest) && access === undefined) access = grant.access
    }
    return access ?? { code: AUTH_FAILED, message: 'Invalid token' }
  }
}

const EMPTY: Buffer = Buffer.alloc(0)

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

function tooMuch(max: number): Refusal {
  return { code: FRAME_TOO_LARGE, message: `More than ${max} bytes before authenticating` }
}

/** Send one coded error, then close: at once once it is written, or after a grace period. */
function refuseWith(socket: Duplex, refusal: Refusal): void {
  if (socket.destroyed) return
  const cut = setTimeout(() => socket.destroy(), GRACE)
  cut.unref()
  socket.once('close', () => clearTimeout(cut))
  // Whatever else the peer sends is not read any more: the socket is closed once it is written.
  socket.pause()
  socket.end(encodeOutput(Output.authResult, { error: refusal.code, message: refusal.message }), () => socket.destroy())
}

function checkAccess(access: unknown, name: string): Access {
  if (access !== 'readwrite' && access !== 'readonly')
    throw new TypeError(`The '${name}' must be 'readwrite' or 'readonly'`)
  return access
}

function ignore(): void {}
