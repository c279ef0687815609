// Flow control between a guest and a host over a real socket: the guest must always read the
// answers to what it sent, or a guest that sends more than the host takes in one go and a host
// whose output is full wait for each other forever.
import { LevelHost } from '@rave-level/host'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { connectSocket, serve } from './helpers.js'

describe('flow control', () => {
  it('never deadlocks: megabytes of requests whose answers fill the host', async () => {
    const db = new MemoryLevel<string, string>()
    const big = 'v'.repeat(64 * 1024)
    for (let i = 0; i < 200; i++) await db.put(`k${i}`, big)
    // A host that buffers little for a guest that does not read.
    const served = await serve(new LevelHost(db, { highWaterMark: 64 * 1024 }))
    const guest = new ResumableGuest()
    connectSocket(guest, served.path)
    await guest.open()
    await guest.get('k0')
    const ops: Promise<unknown>[] = []
    // 4 MB of writes and gets answered with 64 KiB each, all in one tick.
    const value = 'w'.repeat(1024)
    for (let i = 0; i < 4000; i++) ops.push(guest.put(`w${i}`, value))
    for (let i = 0; i < 2000; i++) ops.push(guest.get(`k${i % 200}`))
    const settled = await Promise.race([
      Promise.all(ops).then(() => 'settled'),
      new Promise((resolve) => setTimeout(resolve, 20_000, 'stuck'))
    ])
    expect(settled).toBe('settled')
    await guest.close()
    await served.close()
  }, 30_000)
})
