import { Command } from 'commander'
import { keyNotFound } from '../../errors.js'
import { decodeBytes, formatBytes } from '../codec.js'
import { type CliIo, runCommand } from '../context.js'
import { addCommonOptions, type CommonFlags } from '../options.js'

/** `rave-level get <location> <key>`: print the value of one key; exit 1 when it is missing. */
export function getCommand(io: CliIo): Command {
  const command = new Command('get')
    .summary('print the value of a key')
    .description('Print the value of <key>. A missing key is an error (LEVEL_NOT_FOUND, exit code 1).')
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
    .argument('<key>', 'the key, in --key-encoding')
  return addCommonOptions(command, 'key-and-value')
    .addHelpText(
      'after',
      '\nExamples:\n  rave-level get ./db user:1\n  rave-level get ./db 00ff --key-encoding hex --value-encoding json --json'
    )
    .action((location: string, keyText: string, flags: CommonFlags) =>
      runCommand(io, command, location, flags, ({ key }) => {
        const bytes = key(keyText)
        return async ({ db, out }) => {
          const value = await db.get(bytes)
          if (value === undefined) {
            throw keyNotFound(keyText)
          }
          const shown = decodeBytes(flags.valueEncoding, value)
          await out.result(
            { key: decodeBytes(flags.keyEncoding, bytes), value: shown },
            formatBytes(flags.valueEncoding, value)
          )
        }
      })
    )
}
