import { notJson } from '../errors.js'
import { UsageError } from './usage-error.js'

/** The encodings the command line offers for keys and values (`--key-encoding`, `--value-encoding`). */
export const ENCODINGS = ['utf8', 'json', 'hex', 'base64'] as const

/** One of {@link ENCODINGS}. */
export type EncodingName = (typeof ENCODINGS)[number]

const HEX = /^(?:[0-9a-fA-F]{2})*$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/*
 * The CLI opens the database with buffer keys and values and does the encoding itself, so that
 * what it stores is byte for byte what abstract-level's encoding of the same name stores
 * (`json` is JSON text in UTF-8), and so that `--prefix` can be computed on bytes.
 */

/**
 * The bytes that `text`, given on the command line, stands for in `encoding`. For `json` the
 * text is parsed first, so that `put k '{"a":1}'` stores the object, not a string.
 * @param what How to name the argument in an error message (`key`, `value`, `--gte`).
 * @throws {@link UsageError} when `text` is not valid in `encoding`.
 */
export function encodeArgument(encoding: EncodingName, text: string, what: string): Buffer {
  switch (encoding) {
    case 'utf8':
      return Buffer.from(text, 'utf8')
    case 'json':
      try {
        return Buffer.from(JSON.stringify(JSON.parse(text)), 'utf8')
      } catch {
        throw new UsageError(`${what} is not valid JSON: ${text}`)
      }
    case 'hex':
      if (!HEX.test(text)) throw new UsageError(`${what} is not hex (pairs of 0-9a-f): ${text}`)
      return Buffer.from(text, 'hex')
    case 'base64':
      if (!BASE64.test(text)) throw new UsageError(`${what} is not base64: ${text}`)
      return Buffer.from(text, 'base64')
  }
}

/**
 * Stored bytes as a JSON-ready value: the parsed value for `json`, a string otherwise.
 * @throws `LEVEL_DECODE_ERROR` when `json` bytes are not valid JSON.
 */
export function decodeBytes(encoding: EncodingName, bytes: Uint8Array): unknown {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (encoding === 'hex' || encoding === 'base64') return buffer.toString(encoding)
  const text = buffer.toString('utf8')
  if (encoding === 'utf8') return text
  try {
    return JSON.parse(text)
  } catch (err) {
    throw notJson(text, err as Error)
  }
}

/** Stored bytes as one piece of text for human-readable output (`json` values re-serialised compactly). */
export function formatBytes(encoding: EncodingName, bytes: Uint8Array): string {
  const value = decodeBytes(encoding, bytes)
  return encoding === 'json' ? JSON.stringify(value) : (value as string)
}
