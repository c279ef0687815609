import { Command } from 'commander'
import { type CliIo, runCommand } from '../context.js'
import { addCommonOptions, type CommonFlags } from '../options.js'

/** `rave-level del <location> <key>`: delete one entry. */
export function delCommand(io: CliIo): Command {
  const command = new Command('del')
    .summary('delete a key')
    .description(
      'Delete <key>. Deleting a missing key is not an error, as in LevelDB. Prints nothing (with --json: {"ok":true}).'
    )
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
    .argument('<key>', 'the key, in --key-encoding')
  return addCommonOptions(command, 'key')
    .addHelpText('after', '\nExample:\n  rave-level del ./db user:1')
    .action((location: string, keyText: string, flags: CommonFlags) =>
      runCommand(io, command, location, flags, ({ key }) => {
        const bytes = key(keyText)
        return async ({ db, out }) => {
          await db.del(bytes)
          await out.result({ ok: true }, undefined)
        }
      })
    )
}
