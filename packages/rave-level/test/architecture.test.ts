// ARCHITECTURE.md's "may import" table against the code: for each published package, the
// packages its src imports (types included: they end up in its .d.ts) and the dependencies
// of its package.json must both be exactly what the table says. A new import, a dependency
// left behind, or a table that drifts fails here.
import fs from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const architecture = fs.readFileSync(path.join(root, 'ARCHITECTURE.md'), 'utf8')

/** The table's rows: package name → what it may import ('node' for Node's built-in modules). */
function mayImport(): Map<string, Set<string>> {
  const section = architecture.split('## Packages and what each may import')[1]?.split('\n## ')[0] ?? ''
  const rows = new Map<string, Set<string>>()
  for (const line of section.split('\n')) {
    const cells = line.split(' | ')
    const name = line.match(/^\| `([^`]+)` \|/)?.[1]
    if (name === undefined || cells.length < 3) continue
    const allowed = new Set<string>()
    for (const item of (cells.at(-1) as string).replace(/ \|$/, '').split(',')) {
      const word = item.trim().replace(/^`|`$/g, '')
      // A workspace package by its folder name; anything else by its npm name.
      allowed.add(word === 'node' || !fs.existsSync(path.join(root, 'packages', word)) ? word : packageName(word))
    }
    rows.set(name, allowed)
  }
  return rows
}

const packageName = (folder: string): string =>
  JSON.parse(fs.readFileSync(path.join(root, 'packages', folder, 'package.json'), 'utf8')).name

/** Every file under `dir`, recursively. */
const files = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? files(path.join(dir, entry.name)) : [path.join(dir, entry.name)]))

/** What the sources of `folder` import: npm names, and 'node' for Node's built-in modules. */
function imports(folder: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of files(path.join(root, 'packages', folder, 'src'))) {
    const text = fs.readFileSync(file, 'utf8')
    for (const [, specifier] of text.matchAll(
      /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g
    )) {
      if (specifier === undefined || specifier.startsWith('.')) continue
      const bare = specifier.replace(/^node:/, '')
      const name =
        specifier.startsWith('node:') || builtinModules.includes(bare.split('/')[0] as string)
          ? 'node'
          : specifier
              .split('/')
              .slice(0, specifier.startsWith('@') ? 2 : 1)
              .join('/')
      if (!found.has(name)) found.set(name, path.relative(root, file))
    }
  }
  return found
}

const table = mayImport()
const published = fs
  .readdirSync(path.join(root, 'packages'))
  .filter(
    (folder) =>
      JSON.parse(fs.readFileSync(path.join(root, 'packages', folder, 'package.json'), 'utf8')).private !== true
  )

describe("ARCHITECTURE.md's import table", () => {
  it('has a row for every published package, and no other', () => {
    expect([...table.keys()].sort()).toEqual(published.map(packageName).sort())
  })

  for (const folder of published) {
    const name = packageName(folder)

    it(`${name}: its sources import exactly what the table allows`, () => {
      const allowed = table.get(name) ?? new Set()
      const actual = imports(folder)
      const forbidden = [...actual].filter(([dep]) => !allowed.has(dep)).map(([dep, file]) => `${dep} (${file})`)
      expect(forbidden, `${name} imports what ARCHITECTURE.md does not allow`).toEqual([])
      const unused = [...allowed].filter((dep) => !actual.has(dep))
      expect(unused, `ARCHITECTURE.md allows ${name} imports that none of its sources makes`).toEqual([])
    })

    it(`${name}: its package.json depends on exactly those packages`, () => {
      const manifest = JSON.parse(fs.readFileSync(path.join(root, 'packages', folder, 'package.json'), 'utf8'))
      const declared = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).sort()
      const allowed = [...(table.get(name) ?? [])].filter((dep) => dep !== 'node').sort()
      expect(declared).toEqual(allowed)
    })
  }
})
