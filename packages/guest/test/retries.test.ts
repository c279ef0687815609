// What a retry may and may not do again: it must never apply an operation twice where that
// changes the outcome, and it must keep every option of the original.
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline, Transform } from 'node:stream'
import { LevelHost } from '@rave-level/host'
import { decodeInput, FrameDecoder, Input } from '@rave-level/protocol'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { connect, noop, until } from './helpers.js'

/**
 * Connect `guest` to `host` through a tap that, once the host has received a frame for which
 * `trigger` is true, drops everything the host sends back and cuts the connection a moment
 * later: the host applied the operation, its answer never arrived.
 */
function losingAnswers(guest: ResumableGuest<any, any>, host: LevelHost, trigger: (tag: number) => boolean) {
  let armed = false
  const g = guest.createRpcStream()
  const h = host.createRpcStream()
  const decoder = new FrameDecoder((frame) => {
    if (trigger(decodeInput(Buffer.from(frame)).tag)) armed = true
  })
  const up = new Transform({
    transform(chunk, _encoding, callback) {
      decoder.push(chunk)
      callback(null, chunk)
    }
  })
  const down = new Transform({
    transform(chunk, _encoding, callback) {
      if (!armed) return callback(null, chunk)
      callback()
      setTimeout(() => g.destroy(), 50)
    }
  })
  pipeline(g, up, h, down, g, noop)
}

describe('retries', () => {
  it('never make a clear() with a limit delete more than its limit', async () => {
    const db = new MemoryLevel<string, string>()
    await db.batch('abcdefghij'.split('').map((key) => ({ type: 'put' as const, key, value: key })))
    const host = new LevelHost(db)
    const guest = new ResumableGuest()
    // The answer to whatever deletes is lost after the host applied it.
    losingAnswers(guest, host, (tag) => tag === Input.clear || tag === Input.batch)
    const cleared = guest.clear({ limit: 3 })
    await until(() => guest.isFlushed() === false)
    await new Promise((resolve) => guest.once('disconnect', () => resolve(undefined)))
    connect(guest, host) // the retry
    await cleared
    expect(await db.keys().all()).toEqual('defghij'.split(''))
    // Later operations waited for it, and an iterator sees its outcome.
    await guest.close()
  })

  it('keep issue order around a limited clear: later writes wait for it', async () => {
    const db = new MemoryLevel<string, string>()
    await db.batch('abc'.split('').map((key) => ({ type: 'put' as const, key, value: key })))
    const host = new LevelHost(db)
    const guest = new ResumableGuest()
    connect(guest, host)
    const ops = [guest.clear({ limit: 2 }), guest.put('a', 'new'), guest.keys().all(), guest.get('b')]
    expect(await Promise.all(ops)).toEqual([undefined, undefined, ['a', 'c'], undefined])
    await guest.close()
  })

  it('pass sync: true to the database a guest forwards to', async () => {
    const dir = mkdtempSync('/tmp/g-sync-')
    const seen: boolean[] = []
    const Base = ClassicLevel as unknown as new (location: string) => any
    class Recording extends Base {
      async _put(key: any, value: any, options: any) {
        seen.push(options.sync === true)
        return super._put(key, value, options)
      }
      async _batch(operations: any, options: any) {
        seen.push(options.sync === true)
        return super._batch(operations, options)
      }
    }
    const local = new Recording(join(dir, 'db'))
    await local.open()
    const guest = new ResumableGuest()
    guest.forward(local as never)
    await guest.put('a', '1', { sync: true } as object)
    await guest.put('b', '2')
    await guest.batch([{ type: 'put', key: 'c', value: '3' }], { sync: true } as object)
    expect(seen).toEqual([true, false, true])
    await guest.close()
    await local.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
