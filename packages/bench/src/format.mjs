// Fixed-width tables, to paste into a README as they are.
import { summary } from './stats.mjs'

/** 3 significant digits, k and M suffixes: 7.82k, 20.6k, 388k, 1.02M. */
export function rate(x) {
  if (!Number.isFinite(x)) return String(x)
  if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M'
  if (x >= 1e5) return Math.round(x / 1e3) + 'k'
  if (x >= 1e4) return (x / 1e3).toFixed(1) + 'k'
  if (x >= 1e3) return (x / 1e3).toFixed(2) + 'k'
  return x.toFixed(0)
}

export const ms = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
export const fraction = (x) => x.toFixed(2)
export const times = (x) => x.toFixed(2) + 'x'

/** `n` and the noun, plural unless `n` is 1: '5 rounds', '1 round'. */
export const counted = (n, noun) => `${n} ${noun}${n === 1 ? '' : noun.endsWith('s') ? 'es' : 's'}`

/** "median [min-max]" of the samples `xs`, each written with `unit`; just the value for one sample. */
export function cell(xs, unit) {
  if (xs === undefined || xs.length === 0) return '-'
  const { median, min, max } = summary(xs)
  return xs.length === 1 ? unit(median) : `${unit(median)} [${unit(min)}-${unit(max)}]`
}

/** A titled table: `header` names the columns after the first, `rows` are [label, ...cells]. */
export function table(title, header, rows) {
  const all = [['', ...header], ...rows]
  const widths = all[0].map((_, c) => Math.max(...all.map((row) => String(row[c] ?? '').length)))
  const line = (row) =>
    row
      .map((text, c) => (c === 0 ? String(text).padEnd(widths[0]) : String(text ?? '').padStart(widths[c])))
      .join('   ')
      .trimEnd()
  return [title, line(['', ...header]), ...rows.map(line)].join('\n')
}
