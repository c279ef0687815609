// What a user gets from npm: every published package packed as `pnpm publish` would pack it,
// the tarballs installed with npm into an empty project (internal dependencies must resolve to
// the tarballs, not the registry), then the README's snippet run as an ES module and as
// CommonJS, and the CLI run from node_modules/.bin.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, expect, it } from 'vitest'
import { cleanup, tempDir } from './helpers.js'

const run = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))
const packageDir = path.join(here, '..')
const repoRoot = path.join(packageDir, '..', '..')

afterAll(cleanup)

/** The environment of a user's shell: without the `npm_config_*` that pnpm sets for scripts. */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name)))

/** A file inside a tarball, as text. */
async function fromTarball(tarball: string, file: string): Promise<string> {
  return (await run('tar', ['-xzOf', tarball, `package/${file}`], { maxBuffer: 16 * 1024 * 1024 })).stdout
}

/**
 * The names a bundled declaration file exports: those of its `export { a, b as c, type D }`
 * lists, and of its `export declare class/function/const/...` statements.
 */
function exportedNames(dts: string): string[] {
  const names = new Set<string>()
  for (const m of dts.matchAll(/^export\s*\{([^}]*)\}/gm)) {
    for (const part of (m[1] as string).split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()
        ?.trim()
      if (name) names.add(name)
    }
  }
  const declared =
    /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|function|const|let|interface|type|enum)\s+([\w$]+)/gm
  for (const m of dts.matchAll(declared)) names.add(m[1] as string)
  return [...names].sort()
}

/**
 * Whether `readme` documents `name`: it names it, as a word. A code constant (`TIMEOUT`) is
 * documented by its code (`LEVEL_TIMEOUT`), which is how the READMEs list them.
 */
function documents(readme: string, name: string): boolean {
  const word = (w: string) => new RegExp(`(?<![\\w$])${w.replace(/\$/g, '\\$')}(?![\\w$])`).test(readme)
  return word(name) || (/^[A-Z][A-Z_]*$/.test(name) && word(`LEVEL_${name}`))
}

/**
 * The README's usage snippet, as an ES module (as written) and as CommonJS (its import turned
 * into the `require` its comment shows, its top-level await wrapped in an async function).
 */
function readmeSnippet(): { esm: string; cjs: string } {
  const readme = fs.readFileSync(path.join(packageDir, 'README.md'), 'utf8')
  const esm = readme.split('## Usage')[1]?.match(/```js\n([\s\S]*?)```/)?.[1]
  if (esm === undefined) throw new Error('README.md has no ```js snippet under ## Usage')
  const [first, ...rest] = esm.split('\n')
  expect(first).toMatch(/^import \{ RaveLevel \} from 'rave-level'/)
  const cjs = `const { RaveLevel } = require('rave-level')\n;(async () => {\n${rest.join('\n')}\n})().catch((err) => {\n  console.error(err)\n  process.exit(1)\n})\n`
  return { esm, cjs }
}

it('the packed packages install with npm; the README snippet runs with import and require; the CLI runs', async () => {
  const dir = tempDir()
  const tarballs = path.join(dir, 'tarballs')
  const project = path.join(dir, 'project')
  fs.mkdirSync(project)

  // The published set: rave-level and what it depends on at run time.
  await run('pnpm', ['--filter-prod', 'rave-level...', 'pack', '--pack-destination', tarballs], { cwd: repoRoot })
  const files = fs.readdirSync(tarballs).map((name) => path.join(tarballs, name))
  const manifests = await Promise.all(files.map(async (file) => JSON.parse(await fromTarball(file, 'package.json'))))
  const versions = new Map(manifests.map((m) => [m.name as string, m.version as string]))
  expect([...versions.keys()].sort()).toEqual([
    '@rave-level/election',
    '@rave-level/guest',
    '@rave-level/host',
    '@rave-level/protocol',
    '@rave-level/socket-path',
    '@rave-level/store',
    'rave-level'
  ])
  // Never the name@version of upstream's published rave-level 1.0.0.
  expect(Number(versions.get('rave-level')?.split('.')[0])).toBeGreaterThanOrEqual(2)
  for (const [i, manifest] of manifests.entries()) {
    expect(JSON.stringify(manifest.dependencies ?? {})).not.toContain('workspace:')
    const readme = await fromTarball(files[i] as string, 'README.md')
    // Every name a published entry's types export is one its README documents: what is not
    // documented is not API, so it must not ship as such (see @internal and stripInternal).
    for (const [entry, conditions] of Object.entries<Record<string, { types?: string }>>(manifest.exports ?? {})) {
      if (typeof conditions !== 'object') continue
      for (const condition of ['import', 'require'] as const) {
        const types = conditions[condition]?.types
        if (types === undefined) continue
        const names = exportedNames(await fromTarball(files[i] as string, types.replace(/^\.\//, '')))
        expect(names.length).toBeGreaterThan(0)
        const undocumented = names.filter((name) => !documents(readme, name))
        expect({ package: manifest.name, entry, types, undocumented }).toEqual({
          package: manifest.name,
          entry,
          types,
          undocumented: []
        })
      }
    }
    // npm shows the README on the package's page, where relative links lead nowhere.
    const relative = [...readme.matchAll(/\]\(([^)]+)\)/g)]
      .map((m) => m[1])
      .filter((url) => !/^(?:https?:|#|mailto:)/.test(url as string))
    expect({ package: manifest.name, relative }).toEqual({ package: manifest.name, relative: [] })
  }

  // Install every tarball, as a user would before the packages are on the registry. No
  // overrides: each internal dependency's range must accept its sibling tarball's version.
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], { cwd: project, env: userEnv })
  const lock = JSON.parse(fs.readFileSync(path.join(project, 'package-lock.json'), 'utf8'))
  for (const [where, entry] of Object.entries<{ resolved?: string; version?: string }>(lock.packages)) {
    const name = where.replace(/^.*node_modules\//, '')
    if (!versions.has(name)) continue
    // One copy of each, from its tarball: a mismatched range would pull a nested copy from the registry.
    expect({ where, resolved: entry.resolved?.startsWith('file:'), version: entry.version }).toEqual({
      where: `node_modules/${name}`,
      resolved: true,
      version: versions.get(name)
    })
  }

  const { esm, cjs } = readmeSnippet()
  fs.writeFileSync(path.join(project, 'snippet.mjs'), esm)
  fs.writeFileSync(path.join(project, 'snippet.cjs'), cjs)
  for (const file of ['snippet.mjs', 'snippet.cjs']) {
    const { stdout } = await run(process.execPath, [file], { cwd: project })
    expect({ file, stdout }).toEqual({
      file,
      stdout: "this process serves the database now\n{ hello: 'world' }\nexample { hello: 'world' }\n"
    })
  }

  // The public surface: RaveLevel alone, with abstract-level's API and its own few members
  // (sublevel() is abstract-level's, typed to return sublevels that can watch), and none of the
  // guest's plumbing (which would break the election if called).
  const surface = `
    const { RaveLevel } = require('rave-level')
    const { AbstractLevel } = require('abstract-level')
    const db = new RaveLevel('./surface-db')
    const own = new Set()
    for (let p = Object.getPrototypeOf(db); p && p !== AbstractLevel.prototype; p = Object.getPrototypeOf(p)) {
      for (const name of Object.getOwnPropertyNames(p)) if (!name.startsWith('_') && name !== 'constructor') own.add(name)
    }
    const plumbing = ['createRpcStream', 'connect', 'forward', 'unforward', 'rejectWaiting', 'isFlushed'].filter((m) => m in db)
    console.log(JSON.stringify({ exports: Object.keys(require('rave-level')), own: [...own].sort(), plumbing }))
    db.close()
  `
  fs.writeFileSync(path.join(project, 'surface.cjs'), surface)
  expect(JSON.parse((await run(process.execPath, ['surface.cjs'], { cwd: project })).stdout)).toEqual({
    exports: ['RaveLevel'],
    own: [
      'approximateSize',
      'close',
      'compactRange',
      'defer',
      'deferAsync',
      'getProperty',
      'leaderPid',
      'location',
      'open',
      'role',
      'sublevel',
      'watch'
    ],
    plumbing: []
  })

  const cli = path.join(project, 'node_modules', '.bin', 'rave-level')
  expect((await run(cli, ['--version'], { cwd: project })).stdout).toBe(`${versions.get('rave-level')}\n`)
  expect(
    (await run(cli, ['get', './db', 'example', '--value-encoding', 'json', '--json'], { cwd: project })).stdout
  ).toBe('{"key":"example","value":{"hello":"world"}}\n')
  await run(cli, ['put', './new-db', 'k', 'v', '--create'], { cwd: project })
  expect((await run(cli, ['ls', './new-db'], { cwd: project })).stdout).toBe('k\tv\n')
}, 240_000)
