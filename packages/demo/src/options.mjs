// The demo's flags (commander, as the rave-level CLI uses).
import { Command, InvalidArgumentError } from 'commander'

const number = (min, whole) => (text) => {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < min || (whole && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`expected a ${whole ? 'whole ' : ''}number of at least ${min}`)
  }
  return value
}

/**
 * Parse the demo's command line. Resolves with the options, or exits: 0 after `--help`, 2 on a
 * usage error.
 */
export function parseOptions(argv) {
  const program = new Command('npx -y pnpm@12.4.2 demo')
    .description(
      'Worker processes share one LevelDB database through rave-level. Whoever holds the LOCK leads; ' +
        'every --kill-every seconds the leader is killed with SIGKILL and a new one is elected, while ' +
        'every worker keeps taking orders. At the end every acknowledged order is checked.'
    )
    .option('--workers <n>', 'worker processes at a time', number(1, true), 4)
    .option('--duration <seconds>', 'how long the workers run', number(0.5), 8)
    .option('--kill-every <seconds>', 'SIGKILL the leader this often (0: never)', number(0), 2)
    .option('--location <dir>', 'use (and keep) this database instead of a temporary one')
    .addHelpText(
      'after',
      '\nExamples (at the root of the checkout):\n  npx -y pnpm@12.4.2 demo --workers 6 --duration 20 --kill-every 1\n  npx -y pnpm@12.4.2 demo --location ./orders-db\n  then: npx -y pnpm@12.4.2 rave-level ls ./orders-db --limit 5'
    )
    .configureOutput({ outputError: (text, write) => write(`demo: ${text.replace(/^error: /, '')}`) })
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  program.parse(argv, { from: 'user' })
  const { workers, duration, killEvery, location } = program.opts()
  return { workers, duration: duration * 1000, killEvery: killEvery * 1000, location }
}
