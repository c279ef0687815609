import { Command } from 'commander'
import { type CliIo, runCommand } from '../context.js'
import { addCommonOptions, type CommonFlags } from '../options.js'

/** `rave-level put <location> <key> <value>`: write one entry. */
export function putCommand(io: CliIo): Command {
  const command = new Command('put')
    .summary('write a value')
    .description('Write <value> at <key>, replacing what was there. Prints nothing (with --json: {"ok":true}).')
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
    .argument('<key>', 'the key, in --key-encoding')
    .argument('<value>', 'the value, in --value-encoding (with json: any JSON text)')
  return addCommonOptions(command, 'key-and-value')
    .addHelpText(
      'after',
      `\nExamples:\n  rave-level put ./db user:1 Ada\n  rave-level put ./db order:7 '{"qty":2}' --value-encoding json`
    )
    .action((location: string, keyText: string, valueText: string, flags: CommonFlags) =>
      runCommand(io, command, location, flags, ({ key, value }) => {
        const entry = [key(keyText), value(valueText)] as const
        return async ({ db, out }) => {
          await db.put(...entry)
          await out.result({ ok: true }, undefined)
        }
      })
    )
}
