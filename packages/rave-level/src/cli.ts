#!/usr/bin/env node
// The `rave-level` command (the package's `bin`): see src/cli/main.ts.
import { createRequire } from 'node:module'
import { main } from './cli/main.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }
process.exitCode = await main(process.argv.slice(2), process, version)
