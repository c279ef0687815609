import { Command } from 'commander'
import { decodeBytes, formatBytes } from '../codec.js'
import { type CliIo, runCommand } from '../context.js'
import { addBoundOptions, addCommonOptions, integer, type RangeCommandFlags } from '../options.js'
import { describeRange, rangeOptions } from '../range.js'

interface WatchFlags extends RangeCommandFlags {
  keys?: boolean
  count?: number
}

const GAP = 'changes may have been missed here (the leader changed, or this reader fell behind): re-read what you need'

/** `rave-level watch <location>`: print every process's writes as they happen. */
export function watchCommand(io: CliIo): Command {
  const command = new Command('watch')
    .summary('print changes live')
    .description(
      'Print every write of every process to the database as the leader applies it, one per line: ' +
        '"put", a tab, key, a tab, value; "del", a tab, key; "gap" when changes may have been missed ' +
        '(the leader changed, or this reader fell behind). A clear() shows as the deletes of the keys it ' +
        'removed. With --json one object per line, {"type":"put","key":...,"value":...}. Runs until ' +
        'Ctrl-C (or --count changes); says on stderr when it is watching.'
    )
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
  addCommonOptions(command, 'key-and-value')
  return addBoundOptions(command)
    .option('--keys', 'keys only (the leader sends no values)')
    .option('--count <n>', 'stop after <n> changes (gaps included)', integer(1))
    .addHelpText(
      'after',
      '\nExamples:\n  rave-level watch ./db --prefix order:\n  rave-level watch ./db --keys --json | jq .key'
    )
    .action((location: string, flags: WatchFlags) =>
      runCommand(io, command, location, flags, () => {
        // rangeOptions() sets only the bounds given; a watch has no limit or order.
        const { limit: _limit, reverse: _reverse, ...bounds } = rangeOptions(flags, flags.keyEncoding)
        const withValues = flags.keys !== true
        const options = { ...bounds, keys: true, values: withValues }
        return async ({ db, out, notice }) => {
          const stop = new AbortController()
          const end = () => stop.abort()
          process.once('SIGINT', end).once('SIGTERM', end)
          const changes = db.watch({ ...options, signal: stop.signal })
          let seen = 0
          try {
            await changes.ready
            const range = describeRange(flags)
            notice(`watching ${location}${range === '' ? '' : ` ${range}`} (Ctrl-C to stop)`)
            for await (const change of changes) {
              if (out.json) {
                const record: { type: string; key?: unknown; value?: unknown } = { type: change.type }
                if (change.type !== 'gap') record.key = decodeBytes(flags.keyEncoding, change.key)
                if (change.type === 'put' && withValues) record.value = decodeBytes(flags.valueEncoding, change.value)
                await out.record(record)
              } else if (change.type === 'gap') {
                await out.line(`gap\t${GAP}`)
              } else {
                const parts = [change.type, formatBytes(flags.keyEncoding, change.key)]
                if (change.type === 'put' && withValues) parts.push(formatBytes(flags.valueEncoding, change.value))
                await out.line(parts.join('\t'))
              }
              if (out.closed || ++seen === flags.count) break
            }
          } catch (err) {
            // Ctrl-C ends the watch; anything else is a failure.
            if (!stop.signal.aborted) throw err
          } finally {
            process.off('SIGINT', end).off('SIGTERM', end)
            await changes.close()
          }
        }
      })
    )
}
