/** What an iterator yields: entries (keys and values, interleaved on the wire), keys or values. */
export const ENTRIES = 0
export const KEYS = 1
export const VALUES = 2
export type IteratorMode = typeof ENTRIES | typeof KEYS | typeof VALUES

/** The mode of an `Iterator` request's options, as many-level 2 reads them: entries when both are wanted, else keys, else values. */
export function modeOf(options: { keys?: boolean | undefined; values?: boolean | undefined }): IteratorMode {
  return options.keys === true ? (options.values === true ? ENTRIES : KEYS) : VALUES
}
