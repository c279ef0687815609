import { Command, CommanderError } from 'commander'
import { COMMANDS } from './commands/index.js'
import { type CliIo, FAILED } from './context.js'

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const

/**
 * Run the `rave-level` command line with `args` (without `node` and the script) and resolve
 * with the exit code: 0 ok, 1 a command failed (one line on stderr, with its `LEVEL_*` code),
 * 2 a usage error (unknown command or flag, missing or invalid argument).
 */
export async function main(args: string[], io: CliIo, version: string): Promise<number> {
  const program = new Command('rave-level')
    .usage('<command> <location> [args] [flags]')
    .description(
      'Look into and change a rave-level (LevelDB) database, also while another process holds it: ' +
        'this joins as a follower when a leader exists, and leads until it is done when none does.'
    )
    .version(version, '-v, --version')
    .helpCommand(false)
    .exitOverride()
    .configureOutput(output(io, 'rave-level'))
    .addHelpText('after', '\nRun rave-level <command> --help for the flags of a command.')
  for (const make of COMMANDS) {
    const command = make(io).copyInheritedSettings(program)
    program.addCommand(command.configureOutput(output(io, `rave-level ${command.name()}`)))
  }
  try {
    await program.parseAsync(args, { from: 'user' })
    return EXIT.ok
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err
    if (err.code === FAILED) return EXIT.error
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage
  }
}

/** Help to stdout; usage errors as one line on stderr, like the CLI's other errors. */
function output(io: CliIo, name: string) {
  return {
    writeOut: (text: string) => io.stdout.write(text),
    writeErr: (text: string) => io.stderr.write(text),
    outputError: (text: string, write: (text: string) => void) =>
      write(`rave-level: ${text.replace(/^error: /, '').trimEnd()} (see ${name} --help)\n`)
  }
}
