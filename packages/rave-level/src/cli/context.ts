import { type Command, CommanderError } from 'commander'
import { encodeArgument } from './codec.js'
import { type BytesDatabase, withDatabase } from './open-database.js'
import type { CommonFlags } from './options.js'
import { Output } from './output.js'
import { errorLine, noticeLine } from './report.js'
import { UsageError } from './usage-error.js'

/** The streams the CLI talks through (the process's own, or a test's). */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/** Encoders of command-line arguments, for a command to check its arguments before opening. */
export interface Encoders {
  /** Encode a key given on the command line with `--key-encoding`. */
  key(text: string): Buffer
  /** Encode a value given on the command line with `--value-encoding`. */
  value(text: string): Buffer
}

/** What a command's body gets once the database is open. */
export interface CommandContext {
  db: BytesDatabase
  out: Output
  flags: CommonFlags
  io: CliIo
  /** Tell the user something on stderr that is not a result. */
  notice(message: string): void
}

/** The body of a command, run with the database open. */
export type CommandBody = (context: CommandContext) => Promise<void>

/** The commander error code of a command that ran and failed (exit code 1). */
export const FAILED = 'rave-level.failed'

/**
 * Run a command against the database at `location`. `prepare` checks and encodes the
 * arguments before anything is opened and returns the body to run with the database open.
 * A {@link UsageError} (from either) becomes a usage error of `command` (exit code 2); any other
 * error is printed as one line on stderr and becomes exit code 1. Both leave as a
 * `CommanderError`, which `main()` turns into the exit code.
 */
export async function runCommand(
  io: CliIo,
  command: Command,
  location: string,
  flags: CommonFlags,
  prepare: (encoders: Encoders) => CommandBody
): Promise<void> {
  const out = new Output(io.stdout, flags.json === true)
  const notice = (message: string) => {
    io.stderr.write(`${noticeLine(message, flags.json === true)}\n`)
  }
  try {
    const body = prepare({
      key: (text) => encodeArgument(flags.keyEncoding ?? 'utf8', text, 'key'),
      value: (text) => encodeArgument(flags.valueEncoding ?? 'utf8', text, 'value')
    })
    await withDatabase(location, flags, notice, (db) => body({ db, out, flags, io, notice }))
  } catch (err) {
    if (err instanceof UsageError) command.error(err.message, { exitCode: 2, code: 'rave-level.usage' })
    io.stderr.write(`${errorLine(err, flags.json === true)}\n`)
    throw new CommanderError(1, FAILED, (err as Error).message)
  }
}
