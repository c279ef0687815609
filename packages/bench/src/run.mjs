// Benchmarks, side by side in one run: rave-level (ours) as follower and as leader, upstream
// rave-level 1.0.0 as follower, classic-level used directly, and the bounds of this machine
// (a bare unix-socket ping-pong, classic-level's own rates). Every subject runs in worker
// processes of its own; every figure is the median of interleaved rounds with its spread.
// Timing lives here, never in tests. `--help` lists the options.
import fs from 'node:fs'
import os from 'node:os'
import { parse, USAGE } from './config.mjs'
import { cleanUp } from './procs.mjs'
import * as bounds from './sections/bounds.mjs'
import * as failover from './sections/failover.mjs'
import * as iterate from './sections/iterate.mjs'
import * as pipelined from './sections/pipelined.mjs'
import * as sequential from './sections/sequential.mjs'
import * as startup from './sections/startup.mjs'
import * as writers from './sections/writers.mjs'
import { progressDone } from './stats.mjs'
import * as targets from './targets.mjs'

const SECTIONS = { sequential, pipelined, iterate, writers, failover, startup }

let config
try {
  config = parse(process.argv.slice(2))
} catch (err) {
  console.error(`${err.message}\n\n${USAGE}`)
  process.exit(2)
}
if (config.help) {
  console.log(USAGE)
  process.exit(0)
}

process.on('SIGINT', () => {
  cleanUp()
  process.exit(130)
})

// 'bounds' alone measures only the bound subjects of sequential and iterate.
const boundsOnly = !config.sections.includes('sequential') && !config.sections.includes('iterate')
const toRun = Object.keys(SECTIONS).filter(
  (name) => config.sections.includes(name) || (config.sections.includes('bounds') && boundsOnly && (name === 'sequential' || name === 'iterate'))
)

// A section that fails (a subject that hangs or crashes) is reported as failed, and the others
// still run: a long run should not lose every figure to one flaky subject.
const loadBefore = os.loadavg()[0]
const results = {}
const failures = {}
const durations = []
try {
  for (const name of toRun) {
    const started = Date.now()
    try {
      results[name] = await SECTIONS[name].run(config, { boundsOnly: !config.sections.includes(name) })
    } catch (err) {
      failures[name] = err
      console.error(`\n${name} failed:`, err)
      cleanUp() // the failed section's workers
    }
    durations.push(`${name} ${((Date.now() - started) / 1000).toFixed(0)} s`)
  }
} finally {
  progressDone()
  cleanUp()
}

const cpus = os.cpus()
const header = [
  `rave-level benchmarks (${config.size} run): node ${process.version}, ${cpus.length} × ${cpus[0]?.model.trim()}, ${os.platform()} ${os.release()}`,
  `took: ${durations.join(', ')}`,
  // Other work on the machine is the main source of noise: the load says how much there was.
  `load average (1 min): ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after`
]
const blocks = [header.join('\n')]
// The bounds whenever they were measured: the fractions of sequential and iterate refer to them.
if (results.sequential !== undefined || results.iterate !== undefined) blocks.push(...bounds.report(results))
for (const name of Object.keys(SECTIONS)) {
  if (failures[name] !== undefined) blocks.push(`${name}: FAILED (${String(failures[name].message).split('\n')[0]})`)
  else if (config.sections.includes(name)) blocks.push(...SECTIONS[name].report(results[name], config))
}
// Targets only of the sections asked for: 'bounds' alone measured no subject to judge.
const judged = Object.fromEntries(Object.entries(results).filter(([name]) => config.sections.includes(name)))
blocks.push(...targets.report(judged))
console.log(blocks.join('\n\n'))

if (config.json !== undefined) {
  fs.writeFileSync(config.json, JSON.stringify({ config, results, targets: targets.evaluate(judged) }, null, 2))
}
if (Object.keys(failures).length > 0) process.exitCode = 1
