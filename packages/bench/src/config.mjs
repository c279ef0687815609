// Command line: which sections to run, and how big. Three sizes: the full run (the figures for
// the README, several minutes), --quick (about a minute, to see where a change goes) and --smoke
// (seconds, tiny sizes: the test suite runs it to check that every section yields figures).

export const SECTIONS = [
  'bounds',
  'sequential',
  'pipelined',
  'iterate',
  'writers',
  'failover',
  'startup',
  'watch',
  'remote',
  'cached'
]
const ALIASES = { seq: 'sequential', iteration: 'iterate', pipeline: 'pipelined' }

const SIZES = {
  full: {
    rounds: 5,
    chunks: 5,
    passes: 1,
    sequential: 5_000,
    pipelined: 20_000,
    window: 1_000,
    entries: 100_000,
    writeMs: 1_500,
    failovers: 100,
    startups: 15
  },
  quick: {
    rounds: 3,
    chunks: 4,
    passes: 1,
    sequential: 2_000,
    pipelined: 5_000,
    window: 1_000,
    entries: 20_000,
    writeMs: 500,
    failovers: 10,
    startups: 3
  },
  smoke: {
    rounds: 1,
    chunks: 2,
    passes: 1,
    sequential: 50,
    pipelined: 200,
    window: 100,
    entries: 500,
    writeMs: 200,
    failovers: 2,
    startups: 1
  }
}

export const USAGE = `usage: pnpm bench [options]   (pnpm bench -- --help for this; or: pnpm --filter @rave-level/bench start -- [options])

  --quick           a short run (one to two minutes): smaller sizes, 3 rounds
  --smoke           tiny sizes, 1 round: checks that every section yields figures
  --only a,b        run only these sections: ${SECTIONS.join(', ')} (seq for sequential)
                    ('bounds' alone measures only the bounds; sequential and iterate
                    measure theirs anyway, since their fractions need them)
  --rounds n        rounds per section (failover and startup: --failovers n, --startups n)
  --json file       also write every sample, for a later look
  --cpu-prof dir    run every worker process with node --cpu-prof, writing its profile to dir
                    (leaders and followers alike: open them in Chrome DevTools or speedscope)
  --from file       print the report of a run saved with --json again, without measuring
  --help`

/** Parse `argv` (without node and the script); throws a RangeError on anything unknown. */
export function parse(argv) {
  const size = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full'
  const config = {
    size,
    ...SIZES[size],
    sections: SECTIONS,
    json: undefined,
    from: undefined,
    cpuProf: undefined,
    help: false
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new RangeError(`${arg} needs a value`)
      return argv[++i]
    }
    if (arg === '--quick' || arg === '--smoke' || arg === '--') continue
    else if (arg === '--help' || arg === '-h') config.help = true
    else if (arg === '--json') config.json = next()
    else if (arg === '--from') config.from = next()
    else if (arg === '--cpu-prof') config.cpuProf = next()
    else if (arg === '--only') config.sections = sections(next())
    else if (arg === '--rounds' || arg === '--failovers' || arg === '--startups') {
      const n = Number(next())
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`${arg} needs a positive integer`)
      config[arg.slice(2)] = n
    } else throw new RangeError(`unknown option ${arg}`)
  }
  return config
}

function sections(list) {
  const names = list.split(',').map((name) => ALIASES[name.trim()] ?? name.trim())
  for (const name of names) if (!SECTIONS.includes(name)) throw new RangeError(`unknown section ${name}`)
  return SECTIONS.filter((name) => names.includes(name))
}
