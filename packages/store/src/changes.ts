import type { SequencedWrite } from './sequencer.js'

/** One change a committed write made: its key and, for a put, its value, as bytes. */
export interface Change {
  readonly type: 'put' | 'del'
  readonly key: Uint8Array
  readonly value?: Uint8Array | undefined
}

/**
 * Called with the changes of each committed write, in the order they were applied. Must not
 * throw, and must not keep the array beyond the call (its items it may keep: they are not
 * reused).
 */
export type ChangeListener = (changes: readonly Change[]) => void

/**
 * The changes of `operations` as bytes, for listeners: computed once per commit, whoever
 * listens. Keys and values come in the formats of the private API (`'buffer'`, `'view'`, or
 * `'utf8'` strings, which are encoded here); bytes are not copied (the store's callers hand
 * over bytes they no longer change).
 */
export function toChanges(operations: readonly SequencedWrite[]): Change[] {
  const changes: Change[] = new Array(operations.length)
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i] as SequencedWrite
    changes[i] =
      op.type === 'put'
        ? { type: 'put', key: bytes(op.key), value: bytes(op.value) }
        : { type: 'del', key: bytes(op.key) }
  }
  return changes
}

function bytes(data: unknown): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Uint8Array)
}
