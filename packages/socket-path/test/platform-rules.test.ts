import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { socketPath } from '../src/index.js'
import { TempRoots, currentUid, longLocation } from './temp-root.js'

const roots = new TempRoots()
afterEach(() => roots.cleanup())

const HASHED = /^[0-9a-f]{32}\.sock$/

describe.skipIf(process.platform === 'win32')('socketPath() on POSIX platforms', () => {
  it('uses <location>/rave-level.sock when it fits 107 bytes on linux', () => {
    const root = roots.create()
    const location = longLocation(root, 107 - '/rave-level.sock'.length, 'x')
    const expected = location + '/rave-level.sock'

    expect(Buffer.byteLength(expected)).toBe(107)
    expect(socketPath(location, { platform: 'linux', tmpdir: root, env: {} })).toBe(expected)
    expect(fs.readdirSync(root)).toEqual([]) // nothing created
  })

  it('hashes a short location too with hashed: true, to the path a long one would get', () => {
    const root = roots.create()
    const location = path.join(root, 'db')
    const endpoint = socketPath(location, { platform: 'linux', tmpdir: root, env: {}, hashed: true })
    expect(path.dirname(endpoint)).toBe(path.join(root, `rave-level-${currentUid()}`))
    expect(path.basename(endpoint)).toMatch(HASHED)
    expect(socketPath(location, { platform: 'linux', tmpdir: root, env: {} })).toBe(`${location}/rave-level.sock`)
    expect(() => socketPath(location, { hashed: 1 as any })).toThrow(TypeError)
  })

  it.skipIf(process.platform !== 'linux')("keeps a long location's socket inside it on linux with /proc", () => {
    const root = roots.create()
    const location = longLocation(root, 150, 'x')

    expect(socketPath(location, { tmpdir: root, env: {} })).toBe(location + '/rave-level.sock')
    expect(socketPath(location, { platform: 'linux', tmpdir: root, env: {} })).toBe(location + '/rave-level.sock')
    expect(fs.readdirSync(root)).toEqual([]) // no private directory
  })

  it('hashes into <tmpdir>/rave-level-<uid> from 108 bytes on linux without /proc', () => {
    const root = roots.create()
    const location = longLocation(root, 108 - '/rave-level.sock'.length, 'x')
    const endpoint = socketPath(location, { platform: 'linux', procFd: false, tmpdir: root, env: {} })
    const dir = path.join(root, `rave-level-${currentUid()}`)

    expect(path.dirname(endpoint)).toBe(dir)
    expect(path.basename(endpoint)).toMatch(HASHED)
    expect(Buffer.byteLength(endpoint)).toBeLessThanOrEqual(107)
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700)
  })

  for (const platform of ['darwin', 'freebsd', 'openbsd', 'netbsd'] as const) {
    it(`keeps to 103 bytes on ${platform}`, () => {
      const root = roots.create()
      const fits = longLocation(root, 103 - '/rave-level.sock'.length, 'x')
      const over = longLocation(root, 104 - '/rave-level.sock'.length, 'x')
      const options = { platform, tmpdir: root, env: {} }

      expect(socketPath(fits, options)).toBe(fits + '/rave-level.sock')
      expect(path.basename(socketPath(over, options))).toMatch(HASHED)
      // The same 104-byte path is fine on linux.
      expect(socketPath(over, { ...options, platform: 'linux' })).toBe(over + '/rave-level.sock')
    })
  }

  it('counts UTF-8 bytes, not characters', () => {
    const root = roots.create()
    // 'é' is two bytes: 102 characters, but 117 bytes.
    const location = longLocation(root, 70, 'x') + '/' + 'é'.repeat(15)
    const inside = location + '/rave-level.sock'

    expect(inside.length).toBeLessThanOrEqual(107)
    expect(Buffer.byteLength(inside)).toBeGreaterThan(107)
    expect(path.basename(socketPath(location, { platform: 'linux', procFd: false, tmpdir: root, env: {} }))).toMatch(
      HASHED
    )
  })

  it('gives different long locations different hashes, and one location the same hash', () => {
    const root = roots.create()
    const options = { platform: 'linux' as const, procFd: false, tmpdir: root, env: {} }
    const a = longLocation(root, 150, 'a')
    const b = longLocation(root, 150, 'b')

    expect(socketPath(a, options)).not.toBe(socketPath(b, options))
    expect(socketPath(a, options)).toBe(socketPath(a, options))
  })

  it('handles the root directory', () => {
    expect(socketPath('/', { platform: 'linux' })).toBe('/rave-level.sock')
  })
})

describe('socketPath() on win32', () => {
  const PIPE = /^\\\\\.\\pipe\\rave-level-[0-9a-f]{64}$/

  it('returns a named pipe without backslashes after the prefix', () => {
    const root = roots.create()
    const endpoint = socketPath(path.join(root, 'db'), { platform: 'win32', tmpdir: root })

    expect(endpoint).toMatch(PIPE)
    expect(endpoint.slice('\\\\.\\pipe\\'.length)).not.toContain('\\')
    expect(fs.readdirSync(root)).toEqual([]) // no private directory on Windows
  })

  it('folds case', () => {
    const root = roots.create()
    const lower = socketPath(path.join(root, 'some', 'db'), { platform: 'win32' })
    const upper = socketPath(path.join(root, 'SOME', 'Db'), { platform: 'win32' })

    expect(upper).toBe(lower)
    expect(socketPath(path.join(root, 'some', 'db2'), { platform: 'win32' })).not.toBe(lower)
  })

  it('stays within 256 characters for any location length', () => {
    const root = roots.create()
    const location = longLocation(root, 4000, 'z')
    const endpoint = socketPath(location, { platform: 'win32' })

    expect(endpoint).toMatch(PIPE)
    expect(endpoint.length).toBeLessThanOrEqual(256)
  })
})

describe('input validation', () => {
  it('throws a TypeError for a non-string or empty location', () => {
    for (const location of [undefined, null, 42, {}, '', 'a\0b']) {
      expect(() => socketPath(location as string)).toThrow(TypeError)
    }
  })

  it('throws a TypeError for malformed options', () => {
    for (const options of [
      42,
      { platform: 7 },
      { platform: '' },
      { tmpdir: '' },
      { env: null },
      { uid: -1 },
      { uid: 1.5 },
      { procFd: 'yes' }
    ]) {
      expect(() => socketPath('/tmp/x', options as object)).toThrow(TypeError)
    }
  })
})
