// BENCHMARKS.md is generated from the committed run (results/latest.json): rendered again, it
// must be the same file, so that nobody edits a figure or a verdict by hand and no note drifts
// from the run it describes. After a new run: `pnpm --filter @rave-level/bench doc -- run.json`.
import fs from 'node:fs'
import { expect, test } from 'vitest'
import { benchmarksDoc, DOC_FILE, RUN_FILE, rootPath } from '../src/doc.mjs'
import { SECTIONS } from '../src/sections.mjs'

test('BENCHMARKS.md is what the committed run renders', () => {
  const run = JSON.parse(fs.readFileSync(rootPath(RUN_FILE), 'utf8'))
  const rendered = benchmarksDoc(run, SECTIONS, RUN_FILE)
  // One message that says what to do, rather than a diff of the whole file.
  expect(
    fs.readFileSync(rootPath(DOC_FILE), 'utf8') === rendered,
    `${DOC_FILE} differs from what ${RUN_FILE} renders: run \`pnpm --filter @rave-level/bench doc\``
  ).toBe(true)
})

test('every verdict in BENCHMARKS.md is the one the run judged', () => {
  const run = JSON.parse(fs.readFileSync(rootPath(RUN_FILE), 'utf8'))
  const doc = fs.readFileSync(rootPath(DOC_FILE), 'utf8')
  for (const { what, met } of run.targets) {
    const row = doc.split('\n').find((line) => line.startsWith(`| ${what} |`))
    expect(row, what).toBeDefined()
    expect(row?.endsWith(met ? '| met |' : '| **not met** |'), row).toBe(true)
  }
})
