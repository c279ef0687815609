import type { Schema } from './codec.js'
import { schemas } from './messages.js'

/** Tags of messages a guest sends to a host (the first byte of a frame). */
export const Input = Object.freeze({
  get: 0,
  put: 1,
  del: 2,
  batch: 3,
  iterator: 4,
  clear: 5,
  getMany: 6,
  iteratorClose: 7,
  iteratorAck: 8,
  iteratorSeek: 9
} as const)

/** Tags of messages a host sends to a guest. */
export const Output = Object.freeze({
  callback: 0,
  iteratorData: 1,
  getManyCallback: 2,
  iteratorError: 3,
  iteratorEnd: 4
} as const)

/** An input tag. */
export type InputTag = (typeof Input)[keyof typeof Input]
/** An output tag. */
export type OutputTag = (typeof Output)[keyof typeof Output]

/** Schema of each input tag, indexed by tag. */
export const inputSchemas: readonly Schema[] = [
  schemas.Get,
  schemas.Put,
  schemas.Delete,
  schemas.Batch,
  schemas.Iterator,
  schemas.Clear,
  schemas.GetMany,
  schemas.IteratorClose,
  schemas.IteratorAck,
  schemas.IteratorSeek
]

/** Schema of each output tag, indexed by tag. */
export const outputSchemas: readonly Schema[] = [
  schemas.Callback,
  schemas.IteratorData,
  schemas.GetManyCallback,
  schemas.IteratorError,
  schemas.IteratorEnd
]
