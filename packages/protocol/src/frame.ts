import type { CacheAckMessage, CacheGrantMessage, CacheInvalidateMessage, CacheLeaseMessage } from './cache-messages.js'
import { messageLength, readMessage, type Schema, writeMessage } from './codec.js'
import { protocolError } from './errors.js'
import type {
  AuthMessage,
  AuthResultMessage,
  BatchMessage,
  CallbackMessage,
  ClearMessage,
  DeleteMessage,
  GetManyCallbackMessage,
  GetManyMessage,
  GetManyPartMessage,
  GetMessage,
  HeartbeatMessage,
  HelloMessage,
  CallMessage,
  SnapshotCloseMessage,
  SnapshotMessage,
  IteratorAckMessage,
  IteratorCloseMessage,
  IteratorDataMessage,
  IteratorEndMessage,
  IteratorErrorMessage,
  IteratorMessage,
  IteratorSeekMessage,
  PutMessage,
  WatchChangesMessage,
  WatchCloseMessage,
  WatchGapMessage,
  WatchMessage
} from './messages.js'
import { Input, type InputTag, inputSchemas, Output, type OutputTag, outputSchemas } from './tags.js'
import { varintLength, writeVarint } from './varint.js'

/** Message type of each input tag. */
export interface InputMessages {
  [Input.get]: GetMessage
  [Input.put]: PutMessage
  [Input.del]: DeleteMessage
  [Input.batch]: BatchMessage
  [Input.iterator]: IteratorMessage
  [Input.clear]: ClearMessage
  [Input.getMany]: GetManyMessage
  [Input.iteratorClose]: IteratorCloseMessage
  [Input.iteratorAck]: IteratorAckMessage
  [Input.iteratorSeek]: IteratorSeekMessage
  [Input.hello]: HelloMessage
  [Input.snapshot]: SnapshotMessage
  [Input.snapshotClose]: SnapshotCloseMessage
  [Input.call]: CallMessage
  [Input.watch]: WatchMessage
  [Input.watchClose]: WatchCloseMessage
  [Input.auth]: AuthMessage
  [Input.cacheLease]: CacheLeaseMessage
  [Input.cacheAck]: CacheAckMessage
}

/** Message type of each output tag. */
export interface OutputMessages {
  [Output.callback]: CallbackMessage
  [Output.iteratorData]: IteratorDataMessage
  [Output.getManyCallback]: GetManyCallbackMessage
  [Output.iteratorError]: IteratorErrorMessage
  [Output.iteratorEnd]: IteratorEndMessage
  [Output.hello]: HelloMessage
  [Output.heartbeat]: HeartbeatMessage
  [Output.getManyPart]: GetManyPartMessage
  [Output.watchChanges]: WatchChangesMessage
  [Output.watchGap]: WatchGapMessage
  [Output.authResult]: AuthResultMessage
  [Output.cacheGrant]: CacheGrantMessage
  [Output.cacheInvalidate]: CacheInvalidateMessage
}

/** A decoded input frame: its tag and message, discriminated by tag. */
export type InputFrame = { [T in InputTag]: { tag: T; message: InputMessages[T] } }[InputTag]
/** A decoded output frame. */
export type OutputFrame = { [T in OutputTag]: { tag: T; message: OutputMessages[T] } }[OutputTag]

/**
 * Length of the complete frame (prefix, tag, message) that {@link encodeOutput} would produce,
 * computed without encoding it: a host checks a reply against the guest's frame limit first.
 */
export function outputFrameLength<T extends OutputTag>(tag: T, message: OutputMessages[T]): number {
  const bodyLength = 1 + messageLength(outputSchemas[tag] as Schema, message)
  return varintLength(bodyLength) + bodyLength
}

function encode(tag: number, s: Schema, msg: unknown): Buffer {
  const bodyLength = 1 + messageLength(s, msg)
  const prefix = varintLength(bodyLength)
  const buf = Buffer.allocUnsafe(prefix + bodyLength)
  let o = writeVarint(buf, 0, bodyLength)
  buf[o++] = tag
  o = writeMessage(buf, o, s, msg)
  return buf
}

/**
 * Encode a guest → host message as a complete frame: varint length prefix, tag byte, message.
 * Throws `TypeError` when a required field is missing (a programmer mistake).
 */
export function encodeInput<T extends InputTag>(tag: T, message: InputMessages[T]): Buffer {
  return encode(tag, inputSchemas[tag] as Schema, message)
}

/** Encode a host → guest message as a complete frame. */
export function encodeOutput<T extends OutputTag>(tag: T, message: OutputMessages[T]): Buffer {
  return encode(tag, outputSchemas[tag] as Schema, message)
}

function decode(frame: Buffer, table: readonly (Schema | undefined)[], side: string): { tag: number; message: any } {
  if (frame.length === 0) throw protocolError('Empty frame')
  const tag = frame[0] as number
  const s = table[tag]
  if (s === undefined) throw protocolError(`Unknown ${side} tag ${tag}`)
  return { tag, message: readMessage(frame, 1, frame.length, s) }
}

/**
 * Decode an input frame body (tag byte + message, without the length prefix) as delivered by
 * {@link FrameDecoder}. Throws `LEVEL_PROTOCOL_ERROR` for an unknown tag or an invalid message.
 * Byte fields are views into `frame`.
 */
export function decodeInput(frame: Buffer): InputFrame {
  return decode(frame, inputSchemas, 'input') as InputFrame
}

/** Decode an output frame body. Throws `LEVEL_PROTOCOL_ERROR` like {@link decodeInput}. */
export function decodeOutput(frame: Buffer): OutputFrame {
  return decode(frame, outputSchemas, 'output') as OutputFrame
}
