// What the benchmarks write: 16-byte keys and 100-byte values that do not compress (LevelDB
// compresses blocks with Snappy, so a value of repeated characters would flatter every reader).
// Deterministic, so that every subject of every round writes and reads the same bytes.

export const KEY_BYTES = 16
export const VALUE_BYTES = 100

/** The key `i` under `prefix`, padded with zeros to 16 bytes, so that keys sort by `i`. */
export const key = (prefix, i) => prefix + String(i).padStart(KEY_BYTES - prefix.length, '0')

// A pool of distinct values from a seeded generator (mulberry32), drawn from 64 printable
// characters: about as incompressible as text gets.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const POOL = 1024

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const random = mulberry32(14)
const pool = Array.from({ length: POOL }, () => {
  let s = ''
  for (let i = 0; i < VALUE_BYTES; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)]
  return s
})

/** The value written under key `i`. */
export const value = (i) => pool[i % POOL]
