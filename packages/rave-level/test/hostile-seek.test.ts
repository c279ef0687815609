// Found while writing the model-based test: classic-level 3.0.0 aborts the process
// (`DBIter::Next` assertion) when an iterator seeks outside its range on an empty database.
// Our guest never sends such a seek, but a many-level 2 guest does (it does not check the
// range), and so can anyone on the socket: the leader must not pass it on to classic-level
// (invariant 6: hostile input cannot hurt the leader).
import { once } from 'node:events'
import net from 'node:net'
import path from 'node:path'
import { pipeline } from 'node:stream'
import { decodeOutput, encodeInput, Input, RpcStream } from '@rave-level/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, Peer, tempDir, until } from './helpers.js'

afterEach(cleanup)

const range = { keys: true, values: true, gt: Buffer.from('b'), limit: -1, reverse: false }
const target = Buffer.from('a')

describe('a seek outside the range on an empty database', () => {
  const frames = {
    IteratorSeek: [
      encodeInput(Input.iterator, { id: 1, seq: 0, options: range, consumed: 0 }),
      encodeInput(Input.iteratorSeek, { id: 1, seq: 1, target })
    ],
    'Iterator with seek': [encodeInput(Input.iterator, { id: 1, seq: 0, options: range, consumed: 0, seek: target })]
  }
  for (const [name, sent] of Object.entries(frames)) {
    it(`(${name}) does not bring the leader down`, async () => {
      const location = tempDir()
      const leader = new Peer(location)
      await leader.event('leader')
      const socket = net.connect(path.join(location, 'rave-level.sock'))
      socket.on('error', () => {})
      await once(socket, 'connect')
      // The seq of the last frame sent: the iterator's answers of that generation come after the seek.
      const seq = sent.length - 1
      const replies: { seq?: number }[] = []
      const stream = new RpcStream({
        onFrame: (frame) => replies.push(decodeOutput(Buffer.from(frame)).message as { seq?: number })
      })
      pipeline(socket, stream, socket, () => {})
      for (const frame of sent) stream.send(frame)
      // The iterator answers after the seek (with its end), or the leader died of it.
      await until(
        () => replies.some((r) => r.seq === seq) || leader.child.exitCode !== null || leader.child.signalCode !== null
      )
      expect(leader.child.signalCode).toBe(null)
      expect(replies.some((r) => r.seq === seq)).toBe(true)
      // And the leader still serves.
      expect(await leader.call('get', 'x')).toBe(null)
      socket.destroy()
    })
  }
})
