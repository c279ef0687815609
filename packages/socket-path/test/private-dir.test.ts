import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readEndpoint, socketPath } from '../src/index.js'
import { TempRoots, currentUid, longLocation } from './temp-root.js'

const roots = new TempRoots()
afterEach(() => roots.cleanup())

// Where a long location's socket cannot be reached inside it (no /proc/self/fd: macOS, the BSDs).
describe.skipIf(process.platform === 'win32')('the private socket directory', () => {
  function setup() {
    const root = roots.create()
    const location = longLocation(root, 150, 'x')
    const dir = path.join(root, `rave-level-${currentUid()}`)
    return { root, location, dir, options: { platform: 'linux' as const, procFd: false, tmpdir: root, env: {} } }
  }

  it('uses $XDG_RUNTIME_DIR/rave-level when XDG_RUNTIME_DIR is safe', () => {
    const { root, location, options } = setup()
    const runtime = path.join(root, 'run')
    fs.mkdirSync(runtime, { mode: 0o700 })

    const endpoint = socketPath(location, { ...options, env: { XDG_RUNTIME_DIR: runtime } })

    expect(path.dirname(endpoint)).toBe(path.join(runtime, 'rave-level'))
    expect(fs.statSync(path.dirname(endpoint)).mode & 0o777).toBe(0o700)
  })

  it('falls back to the temporary directory when XDG_RUNTIME_DIR is unsafe, relative or missing', () => {
    const { root, location, dir, options } = setup()
    const open = path.join(root, 'open')
    fs.mkdirSync(open)
    fs.chmodSync(open, 0o755)

    for (const XDG_RUNTIME_DIR of [open, 'run', path.join(root, 'missing'), '']) {
      expect(path.dirname(socketPath(location, { ...options, env: { XDG_RUNTIME_DIR } }))).toBe(dir)
    }
  })

  it('accepts an existing safe directory', () => {
    const { location, dir, options } = setup()
    fs.mkdirSync(dir, { mode: 0o700 })

    expect(path.dirname(socketPath(location, options))).toBe(dir)
  })

  for (const mode of [0o750, 0o705, 0o770, 0o777, 0o701]) {
    it(`refuses a directory with mode ${mode.toString(8)}`, async () => {
      const { location, dir, options } = setup()
      fs.mkdirSync(dir)
      fs.chmodSync(dir, mode)

      expect(() => socketPath(location, options)).toThrow(
        expect.objectContaining({ code: 'LEVEL_SOCKET_UNAVAILABLE', reason: 'unsafe' })
      )
      await expect(readEndpoint(location, options)).rejects.toMatchObject({
        code: 'LEVEL_SOCKET_UNAVAILABLE',
        reason: 'unsafe'
      })
      // Refused, not repaired.
      expect(fs.statSync(dir).mode & 0o777).toBe(mode)
    })
  }

  it('refuses a file in place of the directory', async () => {
    const { location, dir, options } = setup()
    fs.writeFileSync(dir, '')

    expect(() => socketPath(location, options)).toThrow(
      expect.objectContaining({ code: 'LEVEL_SOCKET_UNAVAILABLE', reason: 'unsafe' })
    )
    await expect(readEndpoint(location, options)).rejects.toMatchObject({
      code: 'LEVEL_SOCKET_UNAVAILABLE',
      reason: 'unsafe'
    })
  })

  it('refuses a symlink to a safe directory in place of the directory', () => {
    const { root, location, dir, options } = setup()
    const elsewhere = path.join(root, 'elsewhere')
    fs.mkdirSync(elsewhere, { mode: 0o700 })
    fs.symlinkSync(elsewhere, dir)

    expect(() => socketPath(location, options)).toThrow(
      expect.objectContaining({ code: 'LEVEL_SOCKET_UNAVAILABLE', reason: 'unsafe' })
    )
  })

  it('refuses a directory owned by another user', () => {
    const { root, location, options } = setup()
    // The directory is created by us, so it is owned by someone other than `uid`.
    const uid = currentUid() + 1

    expect(() => socketPath(location, { ...options, uid })).toThrow(
      expect.objectContaining({ code: 'LEVEL_SOCKET_UNAVAILABLE', reason: 'unsafe' })
    )
    expect(fs.statSync(path.join(root, `rave-level-${uid}`)).uid).toBe(currentUid())
  })

  it('refuses an XDG_RUNTIME_DIR/rave-level that is group-accessible', () => {
    const { root, location, options } = setup()
    const runtime = path.join(root, 'run')
    fs.mkdirSync(runtime, { mode: 0o700 })
    fs.mkdirSync(path.join(runtime, 'rave-level'))
    fs.chmodSync(path.join(runtime, 'rave-level'), 0o770)

    expect(() => socketPath(location, { ...options, env: { XDG_RUNTIME_DIR: runtime } })).toThrow(
      expect.objectContaining({ code: 'LEVEL_SOCKET_UNAVAILABLE', reason: 'unsafe' })
    )
  })

  it('reports a temporary directory that does not exist', async () => {
    const { root, location, options } = setup()
    const tmpdir = path.join(root, 'missing')

    expect(() => socketPath(location, { ...options, tmpdir })).toThrow(
      expect.objectContaining({ code: 'LEVEL_SOCKET_UNAVAILABLE', reason: 'unavailable' })
    )
    await expect(readEndpoint(location, { ...options, tmpdir })).rejects.toMatchObject({
      code: 'LEVEL_SOCKET_UNAVAILABLE',
      reason: 'unavailable'
    })
  })

  it('refuses, without creating anything, when even the hashed path is too long', async () => {
    const { root, location, options } = setup()
    const tmpdir = path.join(root, 't'.repeat(60))
    fs.mkdirSync(tmpdir)

    expect(() => socketPath(location, { ...options, tmpdir })).toThrow(
      expect.objectContaining({ code: 'LEVEL_SOCKET_UNAVAILABLE', reason: 'too-long' })
    )
    await expect(readEndpoint(location, { ...options, tmpdir })).rejects.toMatchObject({
      code: 'LEVEL_SOCKET_UNAVAILABLE',
      reason: 'too-long'
    })
    expect(fs.readdirSync(tmpdir)).toEqual([])
  })

  it('does not touch the private directory for a short location', () => {
    const { root, dir, options } = setup()
    fs.writeFileSync(dir, '') // would be refused if it were looked at

    expect(socketPath(path.join(root, 'db'), options)).toBe(path.join(root, 'db', 'rave-level.sock'))
  })
})
