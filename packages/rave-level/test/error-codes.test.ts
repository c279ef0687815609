// One error registry: the table of docs/errors.md against the packages' sources, both ways, so
// that a new code cannot ship without a row and a row cannot outlive its code. The sources are
// read as text (every `'LEVEL_*'` string), not imported: a code made anywhere counts.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const packages = path.join(root, 'packages')
const registry = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')

/** Every file under `dir` whose name matches `pattern`, skipping `node_modules` and `dist`. */
function files(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : files(full, pattern)
    return pattern.test(entry.name) ? [full] : []
  })
}

const sources = fs
  .readdirSync(packages)
  .map((name) => path.join(packages, name, 'src'))
  .filter((dir) => fs.existsSync(dir))
  .flatMap((dir) => files(dir, /\.(ts|mts|mjs|js|cjs)$/))
const relative = (file: string) => path.relative(root, file)

/** The codes in the first column of the registry's table, in order. */
const tableCodes = [...registry.matchAll(/^\| `(LEVEL_[A-Z0-9_]+)` \|/gm)].map((m) => m[1] as string)

/** Code → the source files that hold it as a string literal. */
const literals = new Map<string, string[]>()
for (const file of sources) {
  for (const [, code] of fs.readFileSync(file, 'utf8').matchAll(/['"](LEVEL_[A-Z0-9_]+)['"]/g)) {
    const where = literals.get(code as string) ?? []
    if (!where.includes(relative(file))) where.push(relative(file))
    literals.set(code as string, where)
  }
}

describe('docs/errors.md, the one table of error codes', () => {
  it('has one row per code', () => {
    expect(tableCodes.length).toBeGreaterThan(10)
    expect(tableCodes.filter((code, i) => tableCodes.indexOf(code) !== i)).toEqual([])
  })

  it('lists every LEVEL_* string of packages/*/src', () => {
    // Mentions in comments are backquoted prose, not strings: `LEVEL_X` inside /** */ is skipped.
    const missing = [...literals]
      .filter(([code]) => !tableCodes.includes(code))
      .map(([code, where]) => `${code} (${where.join(', ')})`)
    expect(missing, 'codes in the sources without a row in docs/errors.md').toEqual([])
  })

  it('lists nothing that no source produces any more', () => {
    const stale = tableCodes.filter((code) => !literals.has(code))
    expect(stale, 'rows of docs/errors.md whose code no longer appears in packages/*/src').toEqual([])
  })

  it('is where every package makes its errors: ModuleError is constructed only in src/errors.ts', () => {
    const elsewhere = sources.filter(
      (file) => path.basename(file) !== 'errors.ts' && /new ModuleError\b/.test(fs.readFileSync(file, 'utf8'))
    )
    expect(elsewhere.map(relative)).toEqual([])
  })

  it('knows every code the documentation names', () => {
    const known = new Set(registry.match(/LEVEL_[A-Z0-9_]+/g))
    const docs = [
      path.join(root, 'README.md'),
      path.join(root, 'ARCHITECTURE.md'),
      ...files(path.join(root, 'docs'), /\.md$/),
      ...files(packages, /^(README|UPGRADING)\.md$/)
    ]
    const unknown = docs.flatMap((file) =>
      [...new Set(fs.readFileSync(file, 'utf8').match(/LEVEL_[A-Z0-9_]+/g) ?? [])]
        .filter((code) => !known.has(code))
        .map((code) => `${code} in ${relative(file)}`)
    )
    expect(unknown, 'codes named in the docs that docs/errors.md does not know').toEqual([])
  })
})
