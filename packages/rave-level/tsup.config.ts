import { defineConfig } from 'tsup'
import { base } from '../../tsup.base'

// The library, and the `rave-level` command (dist/cli.js, ESM only), which the library's clean spares.
export default defineConfig([
  { ...base, clean: ['!cli.js', '!cli.js.map'] },
  { ...base, entry: ['src/cli.ts'], format: ['esm'], dts: false, clean: false }
])
