import { ENTRIES, type IteratorMode, KEYS, type KeyRange, VALUES } from '@rave-level/protocol'

/**
 * Where a cursor's entries come from right now: a host iterator ({@link RemoteSource}) or an
 * iterator of the database the guest forwards to ({@link LocalSource}). The cursor owns the
 * position, the limit and the caller's waiting read; a source only produces items, in the
 * caller's formats, and says where the last one it handed out was.
 */
export interface Source {
  /** It covers the cursor's original range (and snapshot): a seek can go to it. */
  readonly original: boolean
  /** Items that can be taken now without waiting. */
  available(): number
  /** Move up to `size` available items to `out`. */
  take(size: number, out: unknown[]): void
  /** No more items will come beyond those available. */
  readonly ended: boolean
  /** Why no more will come, if it failed (raised once the available items are taken). */
  readonly failure: Error | null
  /** Make more items available (at least `size` if it can); the owner hears of it by `ready()`. */
  want(size: number): void
  /** Continue at `target` (only for an original source). */
  seek(target: Buffer): void
  /**
   * Drop what is buffered and ignore what is still on its way, keeping the source (and its
   * snapshot) for a later {@link Source.seek}: after a seek outside the range.
   */
  discard(): void
  /**
   * The key of the last item taken, as bytes; `null` if none was taken; `'blind'` if items were
   * taken without their keys (a values iterator that did not read keys).
   */
  lastKey(): Buffer | null | 'blind'
  /** Let go of it. Resolves once its resources are released. */
  close(): Promise<void>
}

/** What a source needs from its cursor. */
export interface SourceOwner {
  /** Items, the end or a failure became available while the cursor may be waiting. */
  ready(): void
}

/** How a cursor wants its items: the mode, what it wants of each entry, and in what formats. */
export interface Shape {
  readonly mode: IteratorMode
  readonly wantKeys: boolean
  readonly wantValues: boolean
  readonly keyFormat: string
  readonly valueFormat: string
  readonly reverse: boolean
}

/** The shape of a cursor of `mode` with abstract-level's iterator options. */
export function shapeOf(
  mode: IteratorMode,
  options: { keys?: boolean; values?: boolean; keyEncoding: string; valueEncoding?: string; reverse: boolean }
): Shape {
  return {
    mode,
    wantKeys: mode === KEYS || (mode === ENTRIES && options.keys !== false),
    wantValues: mode === VALUES || (mode === ENTRIES && options.values !== false),
    keyFormat: options.keyEncoding,
    valueFormat: options.valueEncoding ?? 'utf8',
    reverse: !!options.reverse
  }
}

/** Where a new source starts: the cursor's range narrowed to its position, and what is left of its limit. */
export interface Start {
  readonly range: KeyRange
  /** `-1` for no limit. */
  readonly limit: number
  /** The range is the cursor's original one (nothing yielded, no seek). */
  readonly original: boolean
}
