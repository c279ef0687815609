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
    // Stuck means no progress, not slow: on a loaded machine all of it can take long, but a
    // deadlock settles nothing more, ever.
    let done = 0
    for (const op of ops)
      op.then(
        () => done++,
        () => done++
      )
    const settled = await new Promise((resolve) => {
      let seen = -1
      let still = 0
      Promise.all(ops).then(() => resolve('settled'))
      const timer = setInterval(() => {
        if (done !== seen) {
          seen = done
          still = 0
        } else if (++still >= 20) {
          clearInterval(timer)
          resolve(`stuck after ${done} of ${ops.length}`)
        }
      }, 500)
      Promise.all(ops).then(() => clearInterval(timer))
    })
    expect(settled).toBe('settled')
    await guest.close()
    await served.close()
  }, 120_000)
})
