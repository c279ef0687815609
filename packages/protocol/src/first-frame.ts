import { FRAME_TOO_LARGE, PROTOCOL_ERROR } from './errors.js'

/** Why the start of a stream is not a frame: a `LEVEL_*` code and a message. */
export interface FrameRefusal {
  code: string
  message: string
}

/**
 * The first frame of `input` (the start of a stream: a varint length prefix, then that many
 * bytes) and the bytes after it; `'partial'` while it is incomplete; a refusal when the prefix
 * is invalid (`LEVEL_PROTOCOL_ERROR`) or announces more than `max` bytes
 * (`LEVEL_FRAME_TOO_LARGE`). For the one exchange before a stream is handed to an `RpcStream`
 * (authentication), where what follows the frame must be kept for whoever reads on.
 */
export function firstFrame(input: Buffer, max: number): { body: Buffer; rest: Buffer } | FrameRefusal | 'partial' {
  let length = 0
  for (let i = 0; i < 5; i++) {
    const byte = input[i]
    if (byte === undefined) return 'partial'
    length += (byte & 0x7f) * 2 ** (7 * i)
    if (length > max) return { code: FRAME_TOO_LARGE, message: `A frame of more than ${max} bytes` }
    if (byte < 0x80) {
      if (length === 0) return { code: PROTOCOL_ERROR, message: 'Empty frame' }
      const end = i + 1 + length
      if (input.length < end) return 'partial'
      return { body: input.subarray(i + 1, end), rest: input.subarray(end) }
    }
  }
  return { code: PROTOCOL_ERROR, message: 'Invalid frame length' }
}
