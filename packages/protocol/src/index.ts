export type {
  CacheAckMessage,
  CacheGrantMessage,
  CacheInvalidateMessage,
  CacheLeaseMessage
} from './cache-messages.js'
export {
  AUTH_FAILED,
  codes,
  FRAME_TOO_LARGE,
  frameTooLarge,
  INVALID_VALUE,
  NOT_FOUND,
  PROTOCOL_ERROR,
  protocolError,
  READONLY,
  REMOTE_ERROR,
  remoteError,
  TOO_MANY_ITERATORS,
  TOO_MANY_WATCHES,
  wireCode,
  wireMessage
} from './errors.js'
export { EXTENSION_VERSION, FEATURES, type FrameHead, readFrameHead } from './extensions.js'
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
export { type FrameRefusal, firstFrame } from './first-frame.js'
export { DEFAULT_MAX_FRAME_SIZE, FrameDecoder, type OversizeHandler } from './frame-decoder.js'
export type {
  AuthMessage,
  AuthResultMessage,
  BatchMessage,
  BatchOperationMessage,
  CallMessage,
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
  RangeOptions,
  SnapshotCloseMessage,
  SnapshotMessage,
  WatchChangeMessage,
  WatchChangesMessage,
  WatchCloseMessage,
  WatchGapMessage,
  WatchMessage
} from './messages.js'
export { ENTRIES, type IteratorMode, KEYS, modeOf, VALUES } from './mode.js'
export { inRange, type KeyRange, keyRange, narrow, type RangeBounds, rangeBounds } from './range.js'
export { RpcStream, type RpcStreamOptions } from './rpc-stream.js'
export { Input, type InputTag, Output, type OutputTag } from './tags.js'
export {
  readWatchChangesAt,
  type WatchChangeAt,
  watchChangeEntryLength,
  watchChangesFrame,
  watchChangesFrameLength,
  watchChangesHead,
  writeWatchChangeEntry
} from './watch-frames.js'
