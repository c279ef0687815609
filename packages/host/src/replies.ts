import {
  type CallbackMessage,
  encodeOutput,
  FRAME_TOO_LARGE,
  type GetManyCallbackMessage,
  type GetManyPartMessage,
  Output,
  outputFrameLength,
  wireCode,
  wireMessage
} from '@rave-level/protocol'

const MISSING = Object.freeze({}) as { value?: Uint8Array }

/**
 * The answers of one connection, encoded within the guest's frame limit (`limit`, from its
 * Hello; unlimited for a many-level 2 guest): a value that does not fit fails with
 * `LEVEL_FRAME_TOO_LARGE`, a `getMany` answer that does not fit is sent in `GetManyPart`s.
 * Errors go as their `LEVEL_*` code (`LEVEL_REMOTE_ERROR` without one) and their message.
 */
export class Replies {
  /** Largest frame the guest accepts. */
  limit = Number.POSITIVE_INFINITY
  readonly #send: (frame: Buffer) => void
  readonly #reply: CallbackMessage = { id: 0, error: undefined, value: undefined }
  readonly #many: GetManyCallbackMessage = { id: 0, error: undefined, values: [] }

  constructor(send: (frame: Buffer) => void) {
    this.#send = send
  }

  /**
   * Answer a get, put, del, batch or clear: `err` is an error, a code the host chose, or nothing.
   * `cache`: the guest may keep the answer (the `cache` extension).
   */
  callback(id: number, err: unknown, value?: Uint8Array | undefined, cache?: boolean): void {
    const msg = this.#reply
    msg.id = id
    msg.cache = cache === true ? true : undefined
    msg.error = typeof err === 'string' ? err : wireCode(err)
    msg.message = typeof err === 'string' ? undefined : wireMessage(err)
    msg.value = value
    const limit = this.limit
    if (value !== undefined && value.length > limit - 64 && outputFrameLength(Output.callback, msg) > limit) {
      const length = outputFrameLength(Output.callback, msg)
      msg.value = undefined
      msg.cache = undefined
      const message = `The reply needs a frame of ${length} bytes; the guest accepts at most ${limit}`
      this.#send(encodeOutput(Output.callback, { id, error: FRAME_TOO_LARGE, message }))
      return
    }
    const frame = encodeOutput(Output.callback, msg)
    msg.value = undefined
    this.#send(frame)
  }

  /** Answer a getMany with `values`, or with `err`; `cache` as for {@link Replies.callback} (not for parts). */
  many(id: number, err: unknown, values: (Uint8Array | undefined)[] | undefined, cache?: boolean): void {
    const msg = this.#many
    msg.id = id
    msg.cache = cache === true ? true : undefined
    msg.error = wireCode(err)
    msg.message = wireMessage(err)
    msg.values = values === undefined ? [] : values.map(wrap)
    const wrapped = msg.values
    const length = this.limit === Number.POSITIVE_INFINITY ? 0 : outputFrameLength(Output.getManyCallback, msg)
    const frame = length > this.limit ? null : encodeOutput(Output.getManyCallback, msg)
    msg.values = []
    if (frame === null) this.#parts(id, wrapped)
    else this.#send(frame)
  }

  /**
   * A `getMany` answer too large for one frame, as `GetManyPart` messages that each fit. A
   * value that alone does not fit is listed as oversized instead of sent.
   */
  #parts(id: number, values: { value?: Uint8Array }[]): void {
    const limit = this.limit
    const part: GetManyPartMessage = { id, start: 0, values: [], oversized: [] }
    const flush = (next: number) => {
      this.#send(encodeOutput(Output.getManyPart, part))
      part.start = next
      part.values = []
      part.oversized = []
    }
    for (let i = 0; i < values.length; i++) {
      const item = values[i] as { value?: Uint8Array }
      part.values.push(item)
      if (outputFrameLength(Output.getManyPart, part) <= limit) continue
      part.values.pop()
      if (part.values.length > 0 || part.oversized.length > 0) flush(i)
      part.values.push(item)
      if (outputFrameLength(Output.getManyPart, part) > limit) {
        part.values[part.values.length - 1] = MISSING
        part.oversized.push(i - part.start)
      }
    }
    flush(values.length)
  }
}

function wrap(value: Uint8Array | undefined): { value?: Uint8Array } {
  return value === undefined ? MISSING : { value }
}
