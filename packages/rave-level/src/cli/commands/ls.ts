import { Command } from 'commander'
import { decodeBytes, formatBytes } from '../codec.js'
import { type CliIo, runCommand } from '../context.js'
import { addCommonOptions, addRangeOptions, type RangeCommandFlags } from '../options.js'
import { rangeOptions } from '../range.js'
import { scan } from '../scan.js'
import { UsageError } from '../usage-error.js'

interface LsFlags extends RangeCommandFlags {
  keys?: boolean
  values?: boolean
}

/** `rave-level ls <location>`: list entries in key order. */
export function lsCommand(io: CliIo): Command {
  const command = new Command('ls')
    .summary('list entries')
    .description(
      'List entries in key order, one per line: key, a tab, value. With --json one object per line, ' +
        '{"key":...,"value":...}: keys or values that hold tabs or newlines are unambiguous only then.'
    )
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
  addCommonOptions(command, 'key-and-value')
  return addRangeOptions(command)
    .option('--keys', 'keys only')
    .option('--values', 'values only')
    .addHelpText(
      'after',
      '\nExamples:\n  rave-level ls ./db --prefix user: --limit 10\n  rave-level ls ./db --gte a --lt b --reverse --json'
    )
    .action((location: string, flags: LsFlags) =>
      runCommand(io, command, location, flags, () => {
        if (flags.keys && flags.values) throw new UsageError('--keys and --values exclude each other')
        const withKeys = flags.values !== true
        const withValues = flags.keys !== true
        const range = { ...rangeOptions(flags, flags.keyEncoding), keys: withKeys, values: withValues }
        return async ({ db, out }) => {
          await scan(db.iterator(range), async (batch) => {
            for (const [key, value] of batch) {
              if (out.json) {
                const record: { key?: unknown; value?: unknown } = {}
                if (withKeys) record.key = decodeBytes(flags.keyEncoding, key)
                if (withValues) record.value = decodeBytes(flags.valueEncoding, value)
                await out.record(record)
              } else {
                const parts: string[] = []
                if (withKeys) parts.push(formatBytes(flags.keyEncoding, key))
                if (withValues) parts.push(formatBytes(flags.valueEncoding, value))
                await out.line(parts.join('\t'))
              }
              if (out.closed) return false
            }
            return true
          })
        }
      })
    )
}
