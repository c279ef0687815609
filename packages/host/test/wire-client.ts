import { pipeline } from 'node:stream'
import {
  decodeOutput,
  encodeInput,
  type InputMessages,
  type InputTag,
  Output,
  type OutputFrame,
  RpcStream
} from '@rave-level/protocol'
import type { LevelHost } from '../dist/index.js'
import { until } from './helpers.js'

/** An `IteratorData`, `IteratorEnd` or `IteratorError` frame. */
export type IteratorFrame = Extract<OutputFrame, { message: { seq: number } }>

/**
 * A raw protocol peer for tests: sends any message (or bytes) to a host stream in-process and
 * records every decoded reply.
 */
export class WireClient {
  readonly stream: RpcStream
  readonly host: ReturnType<LevelHost['createRpcStream']>
  readonly received: OutputFrame[] = []
  closed = false
  error: Error | undefined

  constructor(host: LevelHost) {
    this.stream = new RpcStream({ onFrame: (frame) => this.received.push(decodeOutput(Buffer.from(frame))) })
    this.host = host.createRpcStream()
    pipeline(this.stream, this.host, this.stream, (err) => {
      this.closed = true
      this.error = err ?? undefined
    })
  }

  send<T extends InputTag>(tag: T, message: InputMessages[T]): void {
    this.stream.send(encodeInput(tag, message))
  }

  /** Send raw bytes (not necessarily a valid frame). */
  raw(bytes: Buffer): void {
    this.stream.send(bytes)
  }

  /** The reply (`Callback` or `GetManyCallback`) with this id. */
  async reply(id: number): Promise<any> {
    let found: OutputFrame | undefined
    await until(() => {
      found = this.received.find(
        (f) => (f.tag === Output.callback || f.tag === Output.getManyCallback) && f.message.id === id
      )
      return found !== undefined
    })
    return (found as OutputFrame).message
  }

  /** Iterator messages (data, end, error) of iterator `id`. */
  iteratorMessages(id: number): IteratorFrame[] {
    return this.received.filter(
      (f): f is IteratorFrame =>
        (f.tag === Output.iteratorData || f.tag === Output.iteratorEnd || f.tag === Output.iteratorError) &&
        f.message.id === id
    )
  }

  destroy(): void {
    this.stream.destroy()
  }
}
