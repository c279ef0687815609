// Every JavaScript example of every Markdown document in the repository, extracted from the
// Markdown as written and run with plain node in a fresh folder: it must exit with code 0 by
// itself within a bound, and print what its `console.log(...) // <value>` comments say, in order.
// So the docs cannot drift from what runs.
//
// An HTML comment on the line before a block may say how to run it:
//   <!-- plain-scripts: with db -->            a fragment that uses `db`: a RaveLevel at './db'
//                                              is opened before it (awaited) and closed after it
//   <!-- plain-scripts: SIGINT once it printed "text" --> a program that runs until Ctrl-C:
//                                              it gets SIGINT once it printed that text, and
//                                              must then exit 0 by itself
//   <!-- plain-scripts: skip, <reason> -->     not run; the reason is listed in the output
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { failure, removeTempDirs, runNode, writeScript } from './harness.js'

afterAll(removeTempDirs)

const root = fileURLToPath(new URL('../../..', import.meta.url))

interface Block {
  file: string
  line: number
  code: string
  directive: string
}

function markdownFiles(dir: string): string[] {
  const out: string[] = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'dist') continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...markdownFiles(full))
    else if (entry.name.endsWith('.md') && entry.name !== 'CHANGELOG.md') out.push(full)
  }
  return out
}

function blocks(file: string): Block[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const out: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(js|javascript|mjs|cjs)\s*$/.test(lines[i] as string)) continue
    const end = lines.indexOf('```', i + 1)
    const directive = /^<!--\s*plain-scripts:\s*(.*?)\s*-->$/.exec(lines[i - 1] ?? '')?.[1] ?? ''
    out.push({ file: path.relative(root, file), line: i + 1, code: lines.slice(i + 1, end).join('\n'), directive })
    i = end
  }
  return out
}

/**
 * What a block says it prints: `console.log(...) // <value>` where the comment starts with a
 * literal (a quote, a bracket, a brace, a digit, true/false/undefined/null). A string literal is
 * printed without its quotes.
 */
export function expectedOutput(code: string): string[] {
  const out: string[] = []
  for (const m of code.matchAll(/console\.log\(.*\)\s*\/\/\s*(.+)$/gm)) {
    const value = literalPrefix(m[1] as string)
    if (value !== undefined) out.push(/^'.*'$|^".*"$/.test(value) ? value.slice(1, -1) : value)
  }
  return out
}

function literalPrefix(text: string): string | undefined {
  if (/^(true|false|undefined|null)\b/.test(text)) return text.split(/\b/)[0]
  if (/^-?\d/.test(text)) return /^-?[\d.]+/.exec(text)?.[0]
  if (!/^['"[{]/.test(text)) return undefined
  let depth = 0
  let quote: string | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quote !== null) {
      if (c === quote) quote = null
    } else if (c === "'" || c === '"') quote = c
    else if (c === '[' || c === '{') depth++
    else if (c === ']' || c === '}') depth--
    if (quote === null && depth === 0) return text.slice(0, i + 1)
  }
  return undefined
}

const all = markdownFiles(root).flatMap(blocks)
const skipped = all.filter((b) => b.directive.startsWith('skip'))

describe("the documents' examples, as plain node scripts", () => {
  it('finds the examples', () => {
    // The root README's usage example at least; a change in the extraction must not find none.
    expect(all.some((b) => b.file === 'README.md')).toBe(true)
    for (const b of skipped) console.log(`not run: ${b.file}:${b.line}: ${b.directive}`)
  })

  for (const block of all.filter((b) => !b.directive.startsWith('skip'))) {
    it(`${block.file}:${block.line} runs${block.directive ? ` (${block.directive})` : ''}`, async () => {
      const cjs = /\brequire\(/.test(block.code) && !/^import /m.test(block.code)
      let code = block.code
      if (block.directive === 'with db') {
        code = `import { RaveLevel } from 'rave-level'\nconst db = new RaveLevel('./db')\nawait db.open()\n${code}\nawait db.close()\n`
      } else if (block.directive !== '' && !block.directive.startsWith('SIGINT once it printed ')) {
        throw new Error(`Unknown directive: ${block.directive}`)
      }
      const slug = `${block.file.replace(/[^\w]+/g, '-')}-${block.line}`
      const file = writeScript(`${slug}.${cjs ? 'cjs' : 'mjs'}`, code)
      const sigint = /^SIGINT once it printed "(.+)"$/.exec(block.directive)?.[1]
      const r = await runNode(`${block.file}:${block.line}`, file, { interrupt: sigint })
      expect(failure(r, expectedOutput(block.code))).toBeUndefined()
    })
  }
})
