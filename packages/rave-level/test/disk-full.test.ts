// A disk that fills up, and is freed again: a real tmpfs of a few MiB (the test mounts it, so it
// needs root, as this project's CI has).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, Peer, tempDir, until } from './helpers.js'

afterEach(cleanup)

/** A fresh tmpfs of `size` bytes, unmounted after the test. */
function smallDisk(size: number): string {
  const dir = tempDir()
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  defer(() => execFileSync('umount', ['-l', dir]))
  return dir
}

/** Write `value` under fresh keys until a write fails; resolves with that error. */
async function fillUp(db: RaveLevel, value: string): Promise<any> {
  for (let i = 0; i < 100_000; i++) {
    try {
      await db.put(`fill/${String(i).padStart(6, '0')}`, value)
    } catch (err) {
      return err
    }
  }
  throw new Error('The disk never filled up')
}

describe('a full disk', () => {
  it('fails writes with LEVEL_IO_ERROR and its message on every process, and heals once space is freed', async () => {
    const disk = smallDisk(32 * 1024 * 1024)
    const location = path.join(disk, 'db')
    const leader = new Peer(location)
    await leader.event('leader')
    const db = new RaveLevel(location, { timeout: 20_000 })
    defer(() => db.close())
    await db.put('before', '1')
    // Most of the space goes to another file. What is left (6 MiB) takes LevelDB's log up to
    // the size where it writes its memtable (4 MiB) to a table file, which then does not fit:
    // a failure in the background, which LevelDB keeps until the database is reopened.
    const filler = path.join(disk, 'filler')
    const free = Number(execFileSync('df', ['--output=avail', '-B1', disk]).toString().split('\n')[1])
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - 6 * 1024 * 1024)))
    const err = await fillUp(db, 'x'.repeat(16 * 1024))
    expect(err).toMatchObject({ code: 'LEVEL_IO_ERROR' })
    expect(err.message).toMatch(/No space left on device/)
    // While the disk is full, reads are served and writes fail fast, with the reason.
    expect(await db.get('before')).toBe('1')
    await expect(db.put('during', 'x')).rejects.toMatchObject({ code: 'LEVEL_IO_ERROR' })
    // Freeing space is enough: no process restarts. The leader notices within moments.
    fs.rmSync(filler)
    await until(
      () =>
        db.put('after', '2').then(
          () => true,
          () => false
        ),
      10_000
    )
    expect(await db.get('after')).toBe('2')
    expect(await db.get('before')).toBe('1')
    expect(await leader.call('put', 'leader-after', '3')).toBe(null)
    expect(await db.get('leader-after')).toBe('3')
    expect(leader.child.exitCode).toBe(null)
  }, 60_000)

  it("that keeps a database from opening is reported on 'error' once, not once per retry", async () => {
    const disk = smallDisk(1024 * 1024)
    const location = path.join(disk, 'db')
    fs.mkdirSync(location)
    // Nothing left: LevelDB cannot create its files. Not a lasting failure (space may come
    // back), so the election keeps trying until `timeout`.
    try {
      fs.writeFileSync(path.join(disk, 'filler'), Buffer.alloc(2 * 1024 * 1024))
    } catch {}
    const db = new RaveLevel(location, { timeout: 1500 })
    defer(() => db.close())
    const faults: any[] = []
    db.on('error', (err) => faults.push(err))
    const err = await db.open().catch((e) => e)
    expect(err).toMatchObject({
      code: 'LEVEL_DATABASE_NOT_OPEN',
      message: expect.stringMatching(/No space left on device/)
    })
    expect(faults.map((f) => [f.code, f.stage])).toEqual([['LEVEL_ELECTION_FAULT', 'acquire']])
  })
})
