/**
 * The formats abstract-level hands keys and values to the private API in: the guest declares
 * all three, so that a forwarded database that supports them natively (classic-level does) gets
 * them as they are, without a round of transcoding (for classic-level, reading values as
 * buffers and decoding them to strings costs about a third of a get). Toward a host the guest
 * converts to and from bytes itself, exactly as abstract-level's transcoder would.
 */
export type Format = 'buffer' | 'view' | 'utf8'

/** The bytes of a key or value in any format (no copy for buffers and views). */
export function toBytes(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return Buffer.from(String(data), 'utf8')
}

/** Bytes received from a host, in `format`. A Buffer serves as a view too. */
export function fromBytes(data: Uint8Array, format: string): Buffer | string {
  const buffer = data as Buffer
  return format === 'utf8' ? buffer.toString('utf8') : buffer
}
