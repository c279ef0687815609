import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { Sequencer } from '../dist/index.js'

describe('Sequencer', () => {
  it('applies pipelined writes of one key in issue order, in few batches', async () => {
    const db = new MemoryLevel()
    let batches = 0
    const target = {
      batch: (ops: any[]) => {
        batches++
        return db.batch(ops)
      }
    }
    const seq = new Sequencer(target)
    const writes = []
    for (let i = 0; i < 1000; i++) writes.push(seq.write([{ type: 'put', key: 'k', value: String(i) }]))
    await Promise.all(writes)
    expect(await db.get('k')).toBe('999')
    // The first write starts alone; everything issued meanwhile is one group commit.
    expect(batches).toBe(2)
    await db.close()
  })

  it('lets a read see exactly the writes issued before it', async () => {
    const db = new MemoryLevel()
    const seq = new Sequencer(db)
    const reads: Promise<string | undefined>[] = []
    for (let i = 0; i < 50; i++) {
      reads.push(seq.read(() => db.get('k')))
      seq.write([{ type: 'put', key: 'k', value: String(i) }])
    }
    reads.push(seq.read(() => db.get('k')))
    const got = await Promise.all(reads)
    expect(got).toEqual([undefined, ...Array.from({ length: 50 }, (_, i) => String(i))])
    await db.close()
  })

  it('runs adjacent reads concurrently and exclusive work alone', async () => {
    const db = new MemoryLevel()
    const seq = new Sequencer(db)
    const log: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const r1 = seq.read(async () => {
      log.push('r1 start')
      await gate
      log.push('r1 end')
    })
    const r2 = seq.read(async () => {
      log.push('r2 start')
    })
    const x = seq.exclusive(async () => {
      log.push('x')
    })
    const r3 = seq.read(async () => {
      log.push('r3')
    })
    await new Promise((r) => setImmediate(r))
    expect(log).toEqual(['r1 start', 'r2 start'])
    release()
    await Promise.all([r1, r2, x, r3])
    expect(log).toEqual(['r1 start', 'r2 start', 'r1 end', 'x', 'r3'])
    await db.close()
  })

  it('fails every write of a failed batch and carries on', async () => {
    const db = new MemoryLevel()
    const seq = new Sequencer(db)
    await db.close()
    const a = seq.write([{ type: 'put', key: 'a', value: '1' }])
    const b = seq.write([{ type: 'put', key: 'b', value: '1' }])
    await expect(a).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
    await expect(b).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
    await expect(seq.read(() => Promise.reject(new Error('x')))).rejects.toThrow('x')
    await expect(
      seq.read(() => {
        throw new Error('sync')
      })
    ).rejects.toThrow('sync')
    expect(await seq.read(async () => 'ok')).toBe('ok')
    expect(seq.size).toBe(0)
  })

  it('abandon() rejects what has not started, lets what runs finish, and then is idle', async () => {
    const db = new MemoryLevel()
    const seq = new Sequencer(db)
    let release = () => {}
    const running = seq.read(() => new Promise<string>((resolve) => (release = () => resolve('read'))))
    const write = seq.write([{ type: 'put', key: 'k', value: 'v' }])
    const read = seq.read(async () => 'never')
    const exclusive = seq.exclusive(async () => 'never')
    const idle = seq.idle()
    const gone = new Error('gone')
    seq.abandon(gone)
    await expect(write).rejects.toBe(gone)
    await expect(read).rejects.toBe(gone)
    await expect(exclusive).rejects.toBe(gone)
    release()
    expect(await running).toBe('read')
    await idle
    expect(seq.size).toBe(0)
    expect(await db.get('k')).toBeUndefined()
    await db.close()
  })
})
