// The whole report, from what a run measured (or what it saved with --json: --from renders it
// again without measuring).
import * as bounds from './sections/bounds.mjs'
import * as targets from './targets.mjs'

/** `sections` maps every measuring section's name to its module (for its `report`). */
export function render({ config, meta, results, failures }, sections) {
  const header = [
    `rave-level benchmarks (${config.size} run): node ${meta.node}, ${meta.cpus}, ${meta.os}`,
    `took: ${meta.took.join(', ')}`,
    // Other work on the machine is the main source of noise: the load says how much there was.
    `load average (1 min): ${meta.load[0].toFixed(2)} before, ${meta.load[1].toFixed(2)} after`
  ]
  const blocks = [header.join('\n')]
  // The bounds whenever they were measured: the fractions of sequential and iterate refer to them.
  if (results.sequential !== undefined || results.iterate !== undefined) blocks.push(...bounds.report(results))
  for (const [name, section] of Object.entries(sections)) {
    if (failures[name] !== undefined) blocks.push(`${name}: FAILED (${failures[name].split('\n')[0]})`)
    else if (config.sections.includes(name)) blocks.push(...section.report(results[name], config))
  }
  blocks.push(...targets.report(judged(config, results)))
  return blocks.join('\n\n')
}

/** Targets only of the sections asked for: 'bounds' alone measured no subject to judge. */
export const judged = (config, results) =>
  Object.fromEntries(Object.entries(results).filter(([name]) => config.sections.includes(name)))
