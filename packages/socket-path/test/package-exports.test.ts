import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { socketPath } from '../src/index.js'
import { TempRoots } from './temp-root.js'

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const roots = new TempRoots()
afterEach(() => roots.cleanup())

beforeAll(() => {
  for (const file of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) {
    if (!fs.existsSync(path.join(packageRoot, 'dist', file))) {
      throw new Error(`dist/${file} is missing: build the package first`)
    }
  }
})

/** A scratch project whose node_modules links to this package, as an install would. */
function scratchProject(): string {
  const project = path.join(roots.create(), 'project')
  fs.mkdirSync(path.join(project, 'node_modules', '@rave-level'), { recursive: true })
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"scratch","private":true}\n')
  fs.symlinkSync(packageRoot, path.join(project, 'node_modules', '@rave-level', 'socket-path'), 'junction')
  return project
}

/**
 * Prints, as JSON: the export names, a win32 endpoint, and the error code for a hashed path
 * whose temporary directory is too long (which exercises `module-error` from the build).
 */
const probe = (load: string) => `
  ${load}
  let code, reason
  try { m.socketPath('/x/' + 'y'.repeat(150), { platform: 'linux', procFd: false, tmpdir: '/' + 't'.repeat(100), env: {} }) } catch (err) { code = err.code; reason = err.reason }
  let typeError = false
  try { m.socketPath('') } catch (err) { typeError = err instanceof TypeError }
  console.log(JSON.stringify({
    exports: Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort(),
    pipe: m.socketPath('/some/Location', { platform: 'win32' }),
    code,
    reason,
    typeError
  }))
`

function run(project: string, args: string[]): unknown {
  const result = spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8' })
  expect(result.stderr).toBe('')
  expect(result.status).toBe(0)
  return JSON.parse(result.stdout)
}

describe('the built package', () => {
  const expected = {
    exports: ['SOCKET_UNAVAILABLE', 'openEndpoint', 'publishEndpoint', 'readEndpoint', 'socketPath'],
    pipe: socketPath('/some/Location', { platform: 'win32' }),
    code: 'LEVEL_SOCKET_UNAVAILABLE',
    reason: 'too-long',
    typeError: true
  }

  it('works with require() from a scratch project', () => {
    const project = scratchProject()
    expect(run(project, ['-e', probe("const m = require('@rave-level/socket-path')")])).toEqual(expected)
  })

  it('works with import from a scratch project', () => {
    const project = scratchProject()
    const args = ['--input-type=module', '-e', probe("const m = await import('@rave-level/socket-path')")]
    expect(run(project, args)).toEqual(expected)
  })

  it('resolves require and import to the CJS and ESM builds', () => {
    const project = scratchProject()
    const cjs = spawnSync(process.execPath, ['-p', "require.resolve('@rave-level/socket-path')"], {
      cwd: project,
      encoding: 'utf8'
    })
    const esm = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('@rave-level/socket-path'))"],
      { cwd: project, encoding: 'utf8' }
    )

    expect(fs.realpathSync(cjs.stdout.trim())).toBe(path.join(packageRoot, 'dist', 'index.cjs'))
    expect(fs.realpathSync(fileURLToPath(esm.stdout.trim()))).toBe(path.join(packageRoot, 'dist', 'index.js'))
  })
})
