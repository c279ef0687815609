import { Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { encodeInput, Input, RpcStream } from '../dist/index.js'

/** A small deterministic PRNG, so that a failing case can be replayed. */
function random(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}

/**
 * A host-like RpcStream between a socket-like writer of requests and a socket-like reader of
 * replies: requests arrive in chunks that cut frames anywhere, each frame is answered with a
 * reply of some size, the reader takes a chunk at a time, a little later.
 */
async function exchange(seed: number): Promise<string> {
  const rand = random(seed)
  let answered = 0
  let sent = 0
  let answeredAll: (s: string) => void = () => {}
  const done = new Promise<string>((resolve) => {
    answeredAll = resolve
  })
  const rpc = new RpcStream({
    onFrame: () => {
      const reply = Buffer.alloc(1 + Math.floor(rand() * 6000))
      sent += reply.length
      rpc.send(reply)
      if (++answered === 400) answeredAll('done')
    },
    highWaterMark: 4096
  })
  const frames: Buffer[] = []
  for (let i = 0; i < 400; i++) {
    frames.push(
      encodeInput(Input.put, { id: i, key: Buffer.from(`k${i}`), value: Buffer.alloc(Math.floor(rand() * 3000)) })
    )
  }
  const bytes = Buffer.concat(frames)
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(rand() * 8000)
    chunks.push(bytes.subarray(at, at + size))
    at += size
  }
  let got = 0
  const reader = new Writable({
    highWaterMark: 2048,
    write(chunk: Buffer, _encoding, callback) {
      got += chunk.length
      if (rand() < 0.5) setImmediate(callback)
      else callback()
    }
  })
  rpc.pipe(reader)
  Readable.from(chunks).pipe(rpc, { end: false })
  const stuck = new Promise<string>((resolve) => setTimeout(resolve, 1000, 'stuck').unref())
  let result = await Promise.race([done, stuck])
  // And every reply reaches the reader.
  for (let i = 0; i < 100 && got < sent; i++) await new Promise((r) => setTimeout(r, 10))
  if (result === 'done' && got !== sent) result = `read ${got} of ${sent} bytes`
  rpc.destroy()
  return result
}

describe('RpcStream under backpressure', () => {
  it('takes all its input once a slow reader drained its output, however bytes are chunked', async () => {
    const stuck: number[] = []
    for (let seed = 1; seed <= 40; seed++) if ((await exchange(seed)) === 'stuck') stuck.push(seed)
    expect(stuck).toEqual([])
  }, 120_000)
})
