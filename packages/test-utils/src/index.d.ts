import type { Server } from 'node:net'
import type { Duplex } from 'node:stream'

export const ManyLevelGuest: new (options?: object) => any
export const ManyLevelHost: new (db: unknown, options?: object) => { createRpcStream(): Duplex }
export const MemoryLevel1: new (options?: object) => any

export function tempDir(prefix?: string): { path: string; remove: () => void }
export function xorshift(seed: number): () => number
export function serve(
  host: { createRpcStream(): Duplex },
  prefix?: string
): Promise<{ path: string; server: Server; close(): Promise<void> }>

export type IteratorMode = 'iterator' | 'keys' | 'values'
export const scenario: {
  readonly KEYS: string[]
  readonly RANGES: object[]
  readonly LIMITS: number[]
  readonly SEEKS: (string | undefined)[]
  readonly MODES: IteratorMode[]
}
export function iteratorCases(
  full: boolean
): Generator<{ mode: IteratorMode; options: { reverse: boolean; limit: number }; seek: string | undefined }>
export function pipelined(n: number, window: number, op: (i: number) => Promise<unknown>): Promise<void>
export function writeCrudSequence(db: {
  put(key: string, value: string): Promise<unknown>
  del(key: string): Promise<unknown>
  batch(ops: object[]): Promise<unknown>
}): Promise<void>
export const clearRanges: readonly object[]

/** `value` as an unsigned LEB128 varint (a frame's length prefix), for tests that forge frames. */
export function varint(value: number): Buffer
