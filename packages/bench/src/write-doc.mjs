// Write BENCHMARKS.md at the repository's root from the run saved in results/latest.json:
//   pnpm --filter @rave-level/bench doc                 render it again
//   pnpm --filter @rave-level/bench doc -- run.json     take run.json (from `pnpm bench -- --json run.json`) as the latest first
import fs from 'node:fs'
import { benchmarksDoc, DOC_FILE, RUN_FILE, rootPath } from './doc.mjs'
import { SECTIONS } from './sections.mjs'

const from = process.argv.slice(2).find((arg) => arg !== '--')
if (from !== undefined) fs.copyFileSync(from, rootPath(RUN_FILE))
const run = JSON.parse(fs.readFileSync(rootPath(RUN_FILE), 'utf8'))
fs.writeFileSync(rootPath(DOC_FILE), benchmarksDoc(run, SECTIONS, RUN_FILE))
console.log(`wrote ${DOC_FILE} from ${RUN_FILE} (a ${run.config.size} run)`)
