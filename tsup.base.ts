import type { Options } from 'tsup'

/** The build every published package shares: ESM + CJS + types from `src/index.ts`. */
export const base: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node'
}
