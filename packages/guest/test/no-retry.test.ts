import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { ResumableGuest } from '../dist/index.js'
import { connect, connectSocket, memoryHost, serve, silentHost } from './helpers.js'

describe('retry: false', () => {
  it('queues operations made before the first connection', async () => {
    const { host } = memoryHost()
    const guest = new ResumableGuest({ retry: false })
    const put = guest.put('a', '1')
    const get = guest.get('a')
    const keys = guest.keys().all()
    connect(guest, host)
    await put
    expect(await get).toBe('1')
    expect(await keys).toEqual(['a'])
    await guest.close()
  })

  it('rejects unanswered operations with LEVEL_CONNECTION_LOST when the connection ends', async () => {
    const guest = new ResumableGuest({ retry: false })
    const link = silentHost(guest)
    await guest.open()
    const ops = [
      guest.put('a', '1'),
      guest.get('a'),
      guest.getMany(['a', 'b']),
      guest.del('a'),
      guest.batch([]),
      guest.clear()
    ]
    const lost = once(guest, 'disconnect')
    link.cut()
    await lost
    // batch([]) never reaches the guest's private API, so it resolves.
    const results = await Promise.allSettled(ops)
    expect(results.map((r) => (r.status === 'rejected' ? r.reason.code : 'ok'))).toEqual([
      'LEVEL_CONNECTION_LOST',
      'LEVEL_CONNECTION_LOST',
      'LEVEL_CONNECTION_LOST',
      'LEVEL_CONNECTION_LOST',
      'ok',
      'LEVEL_CONNECTION_LOST'
    ])
    expect(guest.isFlushed()).toBe(true)
    await guest.close()
  })

  it('rejects new operations until a new stream is attached, then works again', async () => {
    const { host } = memoryHost()
    const guest = new ResumableGuest({ retry: false })
    const link = connect(guest, host)
    await guest.put('a', '1')
    const lost = once(guest, 'disconnect')
    link.cut()
    await lost
    await expect(guest.get('a')).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
    await expect(guest.iterator().next()).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
    connect(guest, host)
    expect(await guest.get('a')).toBe('1')
    await guest.close()
  })

  it('fails iterators on their next call, also after reconnecting', async () => {
    const { db, host } = memoryHost()
    await db.batch(['a', 'b', 'c', 'd'].map((key) => ({ type: 'put' as const, key, value: key })))
    const guest = new ResumableGuest({ retry: false })
    const link = connect(guest, host)
    const idle = guest.iterator()
    const reading = guest.values({ reverse: true })
    expect(await idle.next()).toEqual(['a', 'a'])
    expect(await reading.next()).toBe('d')
    const unread = guest.keys({ gt: 'a' })
    const lost = once(guest, 'disconnect')
    link.cut()
    await lost
    connect(guest, host)
    for (const it of [idle, reading, unread]) {
      await expect(it.next()).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
      await expect(it.nextv(2)).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
      await it.close()
    }
    expect(await guest.keys().all()).toEqual(['a', 'b', 'c', 'd'])
    await guest.close()
  })

  it('fails a read in progress when the connection ends', async () => {
    const guest = new ResumableGuest({ retry: false })
    const link = silentHost(guest)
    await guest.open()
    const it = guest.keys()
    const read = it.nextv(5)
    link.cut()
    await expect(read).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
    await it.close()
    await guest.close()
  })

  it('rejects with LEVEL_CONNECTION_LOST over a unix socket whose server goes away', async () => {
    const { host } = memoryHost()
    const server = await serve(host)
    const guest = new ResumableGuest({ retry: false })
    connectSocket(guest, server.path)
    await guest.put('a', '1')
    const lost = once(guest, 'disconnect')
    await server.close()
    await lost
    await expect(guest.put('b', '2')).rejects.toMatchObject({ code: 'LEVEL_CONNECTION_LOST' })
    await guest.close()
  })
})
