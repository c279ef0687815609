import { Command } from 'commander'
import { type CliIo, runCommand } from '../context.js'
import { addCommonOptions, addRangeOptions, type RangeCommandFlags } from '../options.js'
import { rangeOptions } from '../range.js'
import { countKeys } from '../scan.js'

/** `rave-level count <location>`: count entries. */
export function countCommand(io: CliIo): Command {
  const command = new Command('count')
    .summary('count entries')
    .description('Print how many entries there are (in the range, with range flags).')
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
  addCommonOptions(command, 'key')
  return addRangeOptions(command)
    .addHelpText('after', '\nExamples:\n  rave-level count ./db\n  rave-level count ./db --prefix order: --json')
    .action((location: string, flags: RangeCommandFlags) =>
      runCommand(io, command, location, flags, () => {
        const range = rangeOptions(flags, flags.keyEncoding)
        return async ({ db, out }) => {
          const count = await countKeys(db, range)
          await out.result({ count }, String(count))
        }
      })
    )
}
