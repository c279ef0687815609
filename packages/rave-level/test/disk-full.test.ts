// A disk that fills up, and is freed again: a real tmpfs of a few MiB (the test mounts it, so it
// needs root, as this project's CI has).
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
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

/** Free bytes on the file system of `dir`. */
function free(dir: string): number {
  const stats = fs.statfsSync(dir)
  return stats.bavail * stats.bsize
}

/**
 * Grow or shrink `filler` (a file on `disk`) until about `bytes` are left free. LevelDB may be
 * writing or removing a table meanwhile: a write that finds no room is tried again.
 */
function leaveFree(disk: string, filler: string, bytes: number): Promise<void> {
  return until(() => {
    const excess = free(disk) - bytes
    if (Math.abs(excess) < 64 * 1024) return true
    try {
      if (excess < 0) fs.truncateSync(filler, Math.max(0, fs.statSync(filler).size + excess))
      else fs.appendFileSync(filler, Buffer.alloc(excess))
    } catch {}
    return false
  })
}

/** A settled promise's value, or the code it rejected with. */
function outcome(result: PromiseSettledResult<unknown>): unknown {
  return result.status === 'fulfilled' ? result.value : (result.reason as { code?: unknown }).code
}

/**
 * Write until a write fails with the error LevelDB keeps until it is reopened (a compaction's
 * table that did not fit), or with anything but `LEVEL_IO_ERROR`; resolves with that error.
 */
async function keptError(db: RaveLevel): Promise<any> {
  let kept: any
  await until(() =>
    db.put('probe', 'x').then(
      () => false,
      (err) => {
        kept = err
        return err.code !== 'LEVEL_IO_ERROR' || /\.ldb: No space left on device/.test(err.message)
      }
    )
  )
  return kept
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

  it('keeps serving reads on every process until the database can reopen, and a write made once room is back waits for the heal', async () => {
    const disk = smallDisk(32 * 1024 * 1024)
    const location = path.join(disk, 'db')
    const leader = new Peer(location, { timeout: 4000 })
    await leader.event('leader')
    const db = new RaveLevel(location, { timeout: 4000 })
    defer(() => db.close())
    await db.put('before', '1')
    const filler = path.join(disk, 'filler')
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free(disk) - 6 * 1024 * 1024)))
    // Values that do not compress: to reopen, LevelDB writes the 4 MiB log it replays into a
    // table of about the same size.
    const err = await fillUp(db, crypto.randomBytes(12 * 1024).toString('base64'))
    expect(err).toMatchObject({ code: 'LEVEL_IO_ERROR', message: expect.stringMatching(/No space left on device/) })
    // The first failure may be the log's, which LevelDB does not keep. Wait for the one it
    // keeps until it is reopened: its memtable's compaction into a table (.ldb) that did not fit.
    expect(await keptError(db)).toMatchObject({ code: 'LEVEL_IO_ERROR' })
    // A little room, but far less than a reopen needs (more than the 1 MiB that used to count
    // as room again).
    await leaveFree(disk, filler, 1024 * 1024 + 256 * 1024)
    // Nothing happens while the disk stays this full: no event to wait for, so both processes
    // read for a while (the leader looks for room every 250 ms). Every read is served, and
    // writes fail fast with the reason.
    const end = Date.now() + 2500
    while (Date.now() < end) {
      const reads = await Promise.allSettled([db.get('before'), leader.call('get', 'before')])
      expect(reads.map(outcome)).toEqual(['1', '1'])
      await expect(db.put('during', 'x')).rejects.toMatchObject({ code: 'LEVEL_IO_ERROR' })
    }
    // An iterator open across the heal (the leader ends its followers' connections) resumes.
    // Its values are large, so that it has read only a few entries ahead.
    const iterator = db.iterator({ gte: 'fill/', lt: 'fill0' })
    defer(() => iterator.close())
    const entries = [await iterator.next(), await iterator.next()]
    // Room is back: writes made right away, from either process, wait for the heal.
    fs.rmSync(filler)
    await Promise.all([db.put('after', '2'), leader.call('put', 'leader-after', '3')])
    entries.push(...(await iterator.all()))
    const keys = entries.map((entry) => entry?.[0])
    expect(keys.length).toBeGreaterThan(100)
    expect(keys).toEqual(keys.map((_, i) => `fill/${String(i).padStart(6, '0')}`))
    expect(await db.get('after')).toBe('2')
    expect(await leader.call('get', 'leader-after')).toBe('3')
    expect(await db.get('before')).toBe('1')
    // The same process leads all along.
    expect(db.leaderPid).toBe(leader.pid)
  }, 60_000)

  it('tries a reopen that fails again once there is room, while operations wait, and never reports LEVEL_LOCKED', async () => {
    const disk = smallDisk(32 * 1024 * 1024)
    const location = path.join(disk, 'db')
    const leader = new Peer(location, { timeout: 30_000 })
    await leader.event('leader')
    await leader.call('errors')
    const db = new RaveLevel(location, { timeout: 30_000 })
    defer(() => db.close())
    await db.put('before', '1')
    // A follower that stops answering: the leader, which ends its followers' connections before
    // it reopens, waits a moment for it to come back. The test fills the disk in that moment.
    const stopped = new Peer(location)
    await stopped.ready
    expect(await stopped.call('get', 'before')).toBe('1')
    stopped.child.kill('SIGSTOP')
    defer(() => stopped.child.kill('SIGCONT'))
    const filler = path.join(disk, 'filler')
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free(disk) - 6 * 1024 * 1024)))
    await fillUp(db, crypto.randomBytes(12 * 1024).toString('base64'))
    expect(await keptError(db)).toMatchObject({ code: 'LEVEL_IO_ERROR' })
    // Room is back: a write starts the heal (writeLoop returns once its first put was made).
    fs.rmSync(filler)
    await leader.call('writeLoop')
    // ... and is gone again before the leader reopens: the reopen fails.
    await leaveFree(disk, path.join(disk, 'filler2'), 1024 * 1024 + 256 * 1024)
    const failure = await leader.event('error')
    expect(failure).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', message: expect.stringMatching(/No space left/) })
    // Operations wait, in every process, for the next attempt.
    const reads = Promise.allSettled([db.get('before'), leader.call('get', 'before')])
    const write = db.put('after', '2')
    const loop = () => leader.events.filter((e) => e.event === 'ack' || e.event === 'loop-error')
    expect(loop()).toEqual([])
    fs.rmSync(path.join(disk, 'filler2'))
    expect((await reads).map(outcome)).toEqual(['1', '1'])
    await write
    await until(() => loop().length > 0)
    expect(loop()[0]).toMatchObject({ event: 'ack' })
    expect(await leader.call('get', 'after')).toBe('2')
    expect(db.leaderPid).toBe(leader.pid)
  }, 60_000)
})
