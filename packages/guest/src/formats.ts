/**
 * The formats abstract-level hands keys and values to the private API in: the guest declares
 * all three, so that a forwarded database that supports them natively (classic-level does) gets
 * them as they are, without a round of transcoding (for classic-level, reading values as
 * buffers and decoding them to strings costs about a third of a get). Toward a host the guest
 * converts to and from bytes itself, exactly as abstract-level's transcoder would.
 */
export type Format = 'buffer' | 'view' | 'utf8'

/**
 * The bytes of a key or value as a buffer the caller does not share: strings are encoded,
 * buffers and views copied. A caller may refill its buffer as soon as a call returns (as with
 * classic-level, which copies at call time), while we hold keys and values for a later tick, a
 * retry or a group commit.
 */
export function toBytes(data: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (ArrayBuffer.isView(data)) return Buffer.copyBytesFrom(data as Uint8Array)
  return Buffer.from(String(data), 'utf8')
}

/**
 * A key or value as a local database may hold it past this call: buffers and views copied
 * (see {@link toBytes}), strings as they are (immutable).
 */
export function own(data: unknown): unknown {
  return ArrayBuffer.isView(data) ? Buffer.copyBytesFrom(data as Uint8Array) : data
}

/** Bytes received from a host, in `format`. A Buffer serves as a view too. */
export function fromBytes(data: Uint8Array, format: string | undefined): Buffer | string {
  const buffer = data as Buffer
  return format === 'utf8' ? buffer.toString('utf8') : buffer
}

/**
 * The bytes `data[start, end)` in `format`, as {@link fromBytes} gives a whole one: a string
 * made straight from them, or a view of them.
 */
export function fromBytesAt(data: Uint8Array, start: number, end: number, format: string): Buffer | string {
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return format === 'utf8' ? buffer.toString('utf8', start, end) : buffer.subarray(start, end)
}
