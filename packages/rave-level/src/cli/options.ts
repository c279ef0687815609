import { type Command, InvalidArgumentError, Option } from 'commander'
import { ENCODINGS, type EncodingName } from './codec.js'
import type { RangeFlags } from './range.js'

/** The flags every command that opens a database has. */
export interface CommonFlags {
  json?: boolean | undefined
  create?: boolean | undefined
  timeout: number
  keyEncoding: EncodingName
  valueEncoding: EncodingName
  /** For a `tls://` or `tcp://` location: files of the token, the CA, and a client certificate and key. */
  tokenFile?: string | undefined
  ca?: string | undefined
  cert?: string | undefined
  key?: string | undefined
}

/** Flags of a command with range flags. */
export type RangeCommandFlags = CommonFlags & RangeFlags

/** Which encodings a command takes flags for. */
export type EncodingFlags = 'key' | 'key-and-value' | 'none'

/**
 * Add the flags every command has: `--json`, `--create`, `--timeout`, and the encodings the
 * command uses (a command that never prints or takes values has no `--value-encoding`).
 */
export function addCommonOptions(command: Command, encodings: EncodingFlags): Command {
  if (encodings !== 'none') {
    command.addOption(new Option('--key-encoding <name>', 'encoding of keys').choices(ENCODINGS).default('utf8'))
  }
  if (encodings === 'key-and-value') {
    command.addOption(new Option('--value-encoding <name>', 'encoding of values').choices(ENCODINGS).default('utf8'))
  }
  return command
    .option('--json', 'print one JSON object per line (errors too, on stderr)')
    .option('--create', 'create the database if the location holds none (default: refuse)')
    .option(
      '--timeout <ms>',
      'how long to wait for a leader while the lock is held by a process that does not serve',
      integer(1),
      10_000
    )
    .option(
      '--token-file <path>',
      `for a tls:// or tcp:// location: read the token from <path> (default: $${TOKEN_ENV}); never passed as an argument`
    )
    .option('--ca <path>', 'for a tls:// location: PEM file of the CA that signed the server certificate')
    .option('--cert <path>', 'for a tls:// location: PEM file of a client certificate (mutual TLS)')
    .option('--key <path>', 'for a tls:// location: PEM file of the key of --cert')
}

/** The environment variable a token for a remote location is read from, without `--token-file`. */
export const TOKEN_ENV = 'RAVE_LEVEL_TOKEN'

/** Add `--gt/--gte/--lt/--lte/--prefix`: which keys a command covers. */
export function addBoundOptions(command: Command): Command {
  return command
    .option('--gt <key>', 'only keys greater than <key>')
    .option('--gte <key>', 'only keys greater than or equal to <key>')
    .option('--lt <key>', 'only keys less than <key>')
    .option('--lte <key>', 'only keys less than or equal to <key>')
    .option('--prefix <text>', 'only keys that start with <text> (not with --gt/--gte/--lt/--lte)')
}

/** Add the bounds of {@link addBoundOptions} and `--limit/--reverse`. */
export function addRangeOptions(command: Command): Command {
  return addBoundOptions(command)
    .option('--limit <n>', 'at most <n> entries', integer(0))
    .option('--reverse', 'from the last key to the first')
}

/** A commander argument parser for an integer of at least `min`. */
export function integer(min: number): (text: string) => number {
  return (text) => {
    const value = Number(text)
    if (!Number.isInteger(value) || value < min || !/^\d+$/.test(text.trim())) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`)
    }
    return value
  }
}
