// Benchmarks, side by side in one run: rave-level (ours) as follower and as leader, upstream
// rave-level 1.0.0 as follower, classic-level used directly, and the bounds of this machine
// (a bare unix-socket ping-pong, classic-level's own rates). Every subject runs in worker
// processes of its own; every figure is the median of interleaved rounds with its spread.
// Timing lives here, never in tests. `--help` lists the options.
import fs from 'node:fs'
import os from 'node:os'
import { parse, USAGE } from './config.mjs'
import { cleanUp, profileInto } from './procs.mjs'
import { judged, render } from './report.mjs'
import { SECTIONS } from './sections.mjs'
import { progressDone } from './stats.mjs'
import * as targets from './targets.mjs'

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

if (config.from !== undefined) {
  console.log(render(JSON.parse(fs.readFileSync(config.from, 'utf8')), SECTIONS))
  process.exit(0)
}

if (config.cpuProf !== undefined) profileInto(config.cpuProf)

process.on('SIGINT', () => {
  cleanUp()
  process.exit(130)
})

// 'bounds' alone measures only the bound subjects of sequential and iterate.
const boundsOnly = !config.sections.includes('sequential') && !config.sections.includes('iterate')
const toRun = Object.keys(SECTIONS).filter(
  (name) =>
    config.sections.includes(name) ||
    (config.sections.includes('bounds') && boundsOnly && (name === 'sequential' || name === 'iterate'))
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
const meta = {
  node: process.version,
  cpus: `${cpus.length} × ${cpus[0]?.model.trim()}`,
  os: `${os.platform()} ${os.release()}`,
  took: durations,
  load: [loadBefore, os.loadavg()[0]]
}
const run = {
  config,
  meta,
  results,
  failures: Object.fromEntries(Object.entries(failures).map(([name, err]) => [name, String(err.message)]))
}
console.log(render(run, SECTIONS))
if (config.json !== undefined)
  fs.writeFileSync(config.json, JSON.stringify({ ...run, targets: targets.evaluate(judged(config, results)) }, null, 2))
if (Object.keys(failures).length > 0) process.exitCode = 1
