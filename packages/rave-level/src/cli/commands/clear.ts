import { Command } from 'commander'
import { notConfirmed } from '../../errors.js'
import { confirm } from '../confirm.js'
import { type CliIo, runCommand } from '../context.js'
import { addCommonOptions, addRangeOptions, type RangeCommandFlags } from '../options.js'
import { describeRange, rangeOptions } from '../range.js'
import { countKeys } from '../scan.js'
import { UsageError } from '../usage-error.js'

interface ClearFlags extends RangeCommandFlags {
  yes?: boolean
}

/**
 * `rave-level clear <location>`: delete entries. Without `--yes` it asks on a terminal (after
 * counting what it would delete) and refuses when stdin is not a terminal. It prints how many
 * entries it deleted: the count taken just before the clear (a clear does not report one), so
 * entries that other processes write into the range in between are deleted but not counted.
 */
export function clearCommand(io: CliIo): Command {
  const command = new Command('clear')
    .summary('delete entries (all, or a range)')
    .description(
      'Delete every entry, or those in the range given by range flags. On a terminal it counts them ' +
        'and asks first; elsewhere (scripts, pipes) it needs --yes. Prints how many it deleted ' +
        '(with --json: {"ok":true,"deleted":<n>}).'
    )
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
  addCommonOptions(command, 'key')
  return addRangeOptions(command)
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', '\nExamples:\n  rave-level clear ./db --prefix session:\n  rave-level clear ./db --yes')
    .action((location: string, flags: ClearFlags) =>
      runCommand(io, command, location, flags, () => {
        const range = rangeOptions(flags, flags.keyEncoding)
        const ask = flags.yes !== true
        if (ask && io.stdin.isTTY !== true) {
          throw new UsageError(
            'clear deletes data: pass --yes to confirm (stdin is not a terminal, so there is nobody to ask)'
          )
        }
        return async ({ db, out, notice }) => {
          const count = await countKeys(db, range)
          const entries = count === 1 ? '1 entry' : `${count} entries`
          if (ask) {
            if (count === 0) {
              notice('nothing to delete')
              return
            }
            const scope = describeRange(flags)
            const what = scope === '' ? `all ${entries}` : `${entries} (${scope})`
            if (!(await confirm(`Delete ${what} in ${db.location}? [y/N] `, io.stdin, io.stderr))) {
              throw notConfirmed()
            }
          }
          await db.clear(range)
          await out.result({ ok: true, deleted: count }, `deleted ${entries}`)
        }
      })
    )
}
