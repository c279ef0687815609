// A database this process may not open: another user's (a child process started as root loads
// the package, then becomes `nobody`, so it needs root, as this project's CI has), or a location
// that is a file.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, tempDir } from './helpers.js'

afterEach(cleanup)

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'open-once.mjs')

describe('a database that cannot be opened', () => {
  it('(permission denied) fails open() at once with the cause in the message, as another user', async () => {
    const location = path.join(tempDir(), 'db')
    const owner = new ClassicLevel(location)
    await owner.open()
    await owner.close()
    fs.chmodSync(path.dirname(location), 0o755)
    // The child drops to `nobody` only after loading its code: `nobody` could not read it from a
    // clone in a private folder (a root user's home, a `mktemp -d` folder).
    const id = (flag: string) => execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim()
    const out = execFileSync(process.execPath, [fixture, location, id('-u'), id('-g')], { encoding: 'utf8' })
    const result = JSON.parse(out)
    expect(result.open).toMatchObject({
      code: 'LEVEL_DATABASE_NOT_OPEN',
      message: expect.stringMatching(/Permission denied/)
    })
    expect(result.put).toMatchObject({
      code: 'LEVEL_DATABASE_NOT_OPEN',
      message: expect.stringMatching(/Permission denied/)
    })
    expect(result.ms).toBeLessThan(5000)
  })

  it('(a location that is a file) fails open() at once with the cause', async () => {
    const location = path.join(tempDir(), 'file')
    fs.writeFileSync(location, 'not a database')
    const db = new RaveLevel(location, { timeout: 30_000 })
    defer(() => db.close())
    const started = Date.now()
    await expect(db.open()).rejects.toMatchObject({
      code: 'LEVEL_DATABASE_NOT_OPEN',
      message: expect.stringMatching(/EEXIST|ENOTDIR|not a directory/i)
    })
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
