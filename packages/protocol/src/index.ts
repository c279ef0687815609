export { type Field, type FieldType, messageLength, readMessage, type Schema, schema, writeMessage } from './codec.js'
export { codes, FRAME_TOO_LARGE, MAX_MESSAGE_LENGTH, PROTOCOL_ERROR, REMOTE_ERROR, remoteError, wireCode, wireMessage } from './errors.js'
export {
  decodeInput,
  decodeOutput,
  encodeInput,
  encodeOutput,
  type InputFrame,
  type InputMessages,
  type OutputFrame,
  type OutputMessages,
  outputFrameLength
} from './frame.js'
export { DEFAULT_MAX_FRAME_SIZE, FrameDecoder, type OversizeHandler } from './frame-decoder.js'
export type {
  BatchMessage,
  BatchOperationMessage,
  CallbackMessage,
  ClearMessage,
  DeleteMessage,
  GetManyCallbackMessage,
  GetManyMessage,
  GetManyPartMessage,
  GetMessage,
  HeartbeatMessage,
  HelloMessage,
  IteratorAckMessage,
  IteratorCloseMessage,
  IteratorDataMessage,
  IteratorEndMessage,
  IteratorErrorMessage,
  IteratorMessage,
  IteratorOptionsMessage,
  IteratorSeekMessage,
  PutMessage,
  RangeOptions
} from './messages.js'
export { schemas } from './messages.js'
export { RpcStream, type RpcStreamOptions } from './rpc-stream.js'
export { Input, type InputTag, inputSchemas, Output, type OutputTag, outputSchemas } from './tags.js'
export { readVarint, unzigzag, varintLength, writeVarint, zigzag } from './varint.js'
export { type BatchTarget, type SequencedWrite, Sequencer } from './sequencer.js'
export { type ForwardTarget, type Formats, type LocalIterator, LocalStore, type WriteOp } from './local-store.js'
