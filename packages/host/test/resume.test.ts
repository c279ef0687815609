import { pipeline } from 'node:stream'
import { decodeOutput, encodeInput, Input, type IteratorMessage, Output, RpcStream } from '@rave-level/protocol'
import { MemoryLevel } from 'memory-level'
import { describe, expect, it } from 'vitest'
import { LevelHost } from '../dist/index.js'
import { flavours, ManyLevelHost, MemoryLevel1, until } from './helpers.js'

const b = (s: string) => Buffer.from(s)
const KEYS = ['a', 'aa', 'ab', 'b']

/**
 * Open one iterator on a host stream with a raw Iterator message and consume it to the end,
 * acknowledging every batch as a guest does. Returns the keys received.
 */
async function drain(
  hostStream: ReturnType<LevelHost['createRpcStream']>,
  message: IteratorMessage
): Promise<string[]> {
  const keys: string[] = []
  let done = false
  const client: RpcStream = new RpcStream({
    onFrame(frame) {
      const { tag, message: m } = decodeOutput(Buffer.from(frame))
      if (tag === Output.iteratorData) {
        const step = message.options.keys && message.options.values ? 2 : 1
        for (let i = 0; i < m.data.length; i += step) keys.push(String(m.data[i]))
        client.send(encodeInput(Input.iteratorAck, { id: m.id, seq: m.seq, consumed: message.consumed + keys.length }))
      } else if (tag === Output.iteratorEnd || tag === Output.iteratorError) {
        done = true
      }
    }
  })
  pipeline(client, hostStream, client, () => {})
  client.send(encodeInput(Input.iterator, message))
  await until(() => done)
  client.destroy()
  return keys
}

function resume(bookmark: string, reverse: boolean, extra: object = {}): IteratorMessage {
  return {
    id: 1,
    seq: 0,
    options: { keys: true, values: false, reverse, limit: -1, ...extra },
    consumed: 0,
    bookmark: b(bookmark)
  }
}

describe.each(flavours)('bookmark resume over $name', (flavour) => {
  it('continues after the bookmark in both directions with variable-length keys', async () => {
    const { db, dispose } = await flavour.create()
    await db.batch(KEYS.map((key) => ({ type: 'put', key, value: key })))
    const host = new LevelHost(db)
    // The case many-level 2 gets wrong: reverse, after b, must yield ab, aa, a.
    expect(await drain(host.createRpcStream(), resume('b', true))).toEqual(['ab', 'aa', 'a'])
    expect(await drain(host.createRpcStream(), resume('ab', true))).toEqual(['aa', 'a'])
    expect(await drain(host.createRpcStream(), resume('a', true))).toEqual([])
    expect(await drain(host.createRpcStream(), resume('a', false))).toEqual(['aa', 'ab', 'b'])
    expect(await drain(host.createRpcStream(), resume('aa', false))).toEqual(['ab', 'b'])
    expect(await drain(host.createRpcStream(), resume('b', false))).toEqual([])
    // The bookmark replaces the bound on its side and keeps the other one.
    expect(await drain(host.createRpcStream(), resume('b', true, { gte: b('aa') }))).toEqual(['ab', 'aa'])
    expect(await drain(host.createRpcStream(), resume('b', true, { lt: b('c'), lte: b('z') }))).toEqual([
      'ab',
      'aa',
      'a'
    ])
    expect(await drain(host.createRpcStream(), resume('a', false, { gte: b('a'), lt: b('b') }))).toEqual(['aa', 'ab'])
    expect(await drain(host.createRpcStream(), resume('', false))).toEqual(KEYS)
    expect(await drain(host.createRpcStream(), resume('', true))).toEqual([])
    await until(() => host.connections === 0 && host.iterators === 0)
    await dispose()
  })

  it('applies the remaining limit (limit - consumed)', async () => {
    const { db, dispose } = await flavour.create()
    await db.batch(KEYS.map((key) => ({ type: 'put', key, value: key })))
    const host = new LevelHost(db)
    const limited = (bookmark: string, reverse: boolean, limit: number, consumed: number) => ({
      ...resume(bookmark, reverse, { limit }),
      consumed
    })
    expect(await drain(host.createRpcStream(), limited('b', true, 3, 1))).toEqual(['ab', 'aa'])
    expect(await drain(host.createRpcStream(), limited('a', false, 2, 1))).toEqual(['aa'])
    expect(await drain(host.createRpcStream(), limited('a', false, 2, 2))).toEqual([])
    expect(await drain(host.createRpcStream(), limited('a', false, 2, 5))).toEqual([])
    await dispose()
  })

  it('prefers a seek target over a bookmark, within the original range', async () => {
    const { db, dispose } = await flavour.create()
    await db.batch(KEYS.map((key) => ({ type: 'put', key, value: key })))
    const host = new LevelHost(db)
    const message = { ...resume('b', true), seek: b('aa') }
    expect(await drain(host.createRpcStream(), message)).toEqual(['aa', 'a'])
    await dispose()
  })
})

it('many-level 2 host skips keys when resuming in reverse (why we narrow the range)', async () => {
  const db = new MemoryLevel1()
  await db.batch(KEYS.map((key) => ({ type: 'put', key, value: key })))
  const host = new ManyLevelHost(db)
  expect(await drain(host.createRpcStream() as any, resume('b', true))).toEqual(['a'])
  await db.close()
})

it('sends entries interleaved and resumes entries too', async () => {
  const db = new MemoryLevel()
  await db.batch(KEYS.map((key) => ({ type: 'put', key, value: `${key}!` })))
  const host = new LevelHost(db)
  const message = { ...resume('ab', true), options: { keys: true, values: true, reverse: true, limit: -1 } }
  expect(await drain(host.createRpcStream(), message)).toEqual(['aa', 'a'])
  await db.close()
})
