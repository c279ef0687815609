// Number and time formatting shared by the live view, the progress lines and the summary.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** 12345 → "12,345" (rounded). */
export const count = (n) => grouped.format(n)

/** Milliseconds since the start → "  3.2 s". */
export const at = (ms) => `${(ms / 1000).toFixed(1).padStart(5)} s`

/** A list of milliseconds → "7 ms, 9 ms" (or "none"). */
export const durations = (list) => (list.length === 0 ? 'none' : list.map((ms) => `${ms} ms`).join(', '))

/** 1, 'leader' → "1 leader"; 2, 'leader' → "2 leaders". */
export const plural = (n, word) => `${count(n)} ${word}${n === 1 ? '' : 's'}`
