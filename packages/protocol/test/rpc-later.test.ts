import { describe, expect, it } from 'vitest'
import { RpcStream } from '../dist/index.js'

// Frames sent `later` (a host's watch changes) leave after what other streams send at once in
// the same turn (answers that a peer waits for), and never out of order within a stream.

function stream(name: string, log: string[]): RpcStream {
  const rpc = new RpcStream({ onFrame: () => {} })
  rpc.on('data', (chunk: Buffer) => log.push(`${name}:${chunk.toString()}`))
  return rpc
}

/** Wait until `log` holds `n` chunks: what was sent has been written. */
async function written(log: string[], n: number): Promise<void> {
  while (log.length < n) await new Promise((resolve) => setImmediate(resolve))
}

describe('RpcStream.send(frame, later)', () => {
  it('writes a later frame after the frames other streams send at once in the same turn', async () => {
    const log: string[] = []
    const watcher = stream('watcher', log)
    const writer = stream('writer', log)
    watcher.send(Buffer.from('change'), true)
    writer.send(Buffer.from('ack'))
    await written(log, 2)
    expect(log).toEqual(['writer:ack', 'watcher:change'])
  })

  it('keeps the order of a stream: a frame sent at once after a later one takes it along', async () => {
    const log: string[] = []
    const a = stream('a', log)
    const b = stream('b', log)
    a.send(Buffer.from('1'), true)
    b.send(Buffer.from('x'), true)
    a.send(Buffer.from('2'))
    a.send(Buffer.from('3'), true)
    await written(log, 2)
    expect(log).toEqual(['a:123', 'b:x'])
  })

  it('writes later frames once the turn is done, in one chunk', async () => {
    const log: string[] = []
    const a = stream('a', log)
    a.send(Buffer.from('1'), true)
    a.send(Buffer.from('2'), true)
    await new Promise<void>((resolve) => process.nextTick(resolve))
    expect(log).toEqual([])
    await written(log, 1)
    expect(log).toEqual(['a:12'])
    a.send(Buffer.from('3'), true)
    await written(log, 2)
    expect(log).toEqual(['a:12', 'a:3'])
  })
})
