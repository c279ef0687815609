import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { socketPath } from '../src/index.js'
import { TempRoots, longLocation } from './temp-root.js'

const roots = new TempRoots()
afterEach(() => roots.cleanup())

/**
 * The same location spelled through a symlinked alias, relatively, with `.`/`..` segments and
 * redundant separators. `real` must be the canonical spelling.
 */
function spellings(root: string, real: string): string[] {
  const alias = path.join(root, 'alias')
  fs.symlinkSync(path.join(root, 'real'), alias)
  const viaAlias = real.replace(path.join(root, 'real'), alias)

  return [
    real,
    viaAlias,
    path.relative(process.cwd(), real),
    path.relative(process.cwd(), viaAlias),
    real + '/',
    real.replace(root, root + '/./') + '/.',
    real + '/../' + path.basename(real),
    real.replace(root, root + '//')
  ]
}

describe.skipIf(process.platform === 'win32')('one location, many spellings', () => {
  for (const platform of ['linux', 'darwin', 'win32'] as const) {
    for (const kind of ['short', 'long'] as const) {
      for (const exists of [true, false]) {
        it(`${platform}: ${kind} location that ${exists ? 'exists' : 'does not exist yet'}`, () => {
          const root = roots.create()
          fs.mkdirSync(path.join(root, 'real'))
          const real =
            kind === 'short'
              ? path.join(root, 'real', 'new', 'db')
              : longLocation(path.join(root, 'real', 'new'), 150, 'x')
          if (exists) fs.mkdirSync(real, { recursive: true })

          const options = { platform, tmpdir: root, env: {} }
          const expected = socketPath(real, options)

          if (platform !== 'win32' && kind === 'short') {
            expect(expected).toBe(path.join(real, 'rave-level.sock'))
          }

          for (const spelling of spellings(root, real)) {
            expect(socketPath(spelling, options), spelling).toBe(expected)
          }
        })
      }
    }
  }

  it('keeps the endpoint when the location is created after the first call', () => {
    const root = roots.create()
    fs.mkdirSync(path.join(root, 'real'))
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'alias'))
    const options = { platform: 'linux' as const, tmpdir: root, env: {} }
    const before = socketPath(path.join(root, 'alias', 'db'), options)

    fs.mkdirSync(path.join(root, 'real', 'db'))

    expect(socketPath(path.join(root, 'alias', 'db'), options)).toBe(before)
    expect(before).toBe(path.join(root, 'real', 'db', 'rave-level.sock'))
  })

  it('resolves `..` after a symlink physically, as the kernel does', () => {
    const root = roots.create()
    fs.mkdirSync(path.join(root, 'a', 'b'), { recursive: true })
    fs.mkdirSync(path.join(root, 'db'))
    fs.mkdirSync(path.join(root, 'a', 'db'))
    // <root>/link -> <root>/a/b, so <root>/link/../db is <root>/a/db, not <root>/db.
    fs.symlinkSync(path.join(root, 'a', 'b'), path.join(root, 'link'))

    expect(socketPath(root + '/link/../db', { platform: 'linux' })).toBe(path.join(root, 'a', 'db', 'rave-level.sock'))
  })
})
