// Runs a script as a user would: a plain `node` process, no test runner holding its event loop,
// and tells whether it printed what it should, exited with code 0, and did so by itself within a
// bound. A script marks its progress with `stage: <name>` lines, so that one that hangs or exits
// early is reported with the last stage it reached.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Scripts are written here, inside this package, so that `rave-level` and the rest resolve. */
const work = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.work')

/** The built command line. */
export const cli = fileURLToPath(new URL('../../rave-level/dist/cli.js', import.meta.url))

export interface Run {
  name: string
  code: number | null
  signal: NodeJS.Signals | null
  /** Still running at the bound (then killed with SIGKILL). */
  hung: boolean
  stdout: string
  stderr: string
  /** The last `stage: <name>` the script printed. */
  stage: string
  ms: number
}

export interface RunOptions {
  /** Most ms the script may take to exit by itself. */
  bound?: number
  /** The working directory (a fresh temp dir by default). */
  cwd?: string
  args?: string[]
  /** Send SIGINT once the script printed this. */
  interrupt?: string | undefined
}

/** A fresh, short temp dir (unix socket paths are capped at 107 bytes), removed at exit. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-'))
  made.push(dir)
  return dir
}
const made: string[] = []
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}

/** Write `source` as `file` (`.mjs` or `.cjs`) where packages resolve; returns its path. */
export function writeScript(file: string, source: string): string {
  fs.mkdirSync(work, { recursive: true })
  const full = path.join(work, file)
  fs.writeFileSync(full, source)
  return full
}

/** Run a script file with plain node (or another command) and report how it ended. */
export function run(name: string, command: string[], options: RunOptions = {}): Promise<Run> {
  const bound = options.bound ?? 20_000
  const started = performance.now()
  const child = spawn(command[0]!, [...command.slice(1), ...(options.args ?? [])], {
    cwd: options.cwd ?? tempDir(),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  let hung = false
  const interrupt = options.interrupt
  let interrupted = false
  const sigint = () => {
    if (interrupted) return
    interrupted = true
    child.kill('SIGINT')
  }
  child.stdout.on('data', (chunk) => {
    stdout += chunk
    if (interrupt !== undefined && stdout.includes(interrupt)) sigint()
  })
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const timer = setTimeout(() => {
    hung = true
    child.kill('SIGKILL')
  }, bound)
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const stages = [...stdout.matchAll(/^stage: (.*)$/gm)]
      resolve({
        name,
        code,
        signal,
        hung,
        stdout,
        stderr,
        stage: stages.at(-1)?.[1] ?? '(none)',
        ms: Math.round(performance.now() - started)
      })
    })
  })
}

/** Run a script file with plain node. */
export function runNode(name: string, file: string, options?: RunOptions): Promise<Run> {
  return run(name, [process.execPath, file], options)
}

/** Why `r` is not a clean run that printed every one of `expected` (in order), or `undefined`. */
export function failure(r: Run, expected: string[] = ['done']): string | undefined {
  const how = r.hung
    ? `still running after ${r.ms} ms`
    : r.signal !== null
      ? `killed by ${r.signal}`
      : r.code !== 0
        ? `exit code ${r.code}`
        : undefined
  let at = 0
  const missing = expected.find((line) => {
    const i = r.stdout.indexOf(line, at)
    if (i === -1) return true
    at = i + line.length
    return false
  })
  if (how === undefined && missing === undefined) return undefined
  const what = how ?? `never printed ${JSON.stringify(missing)}`
  return `${r.name}: ${what}, at stage '${r.stage}'\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`
}

/**
 * The same scenario as ESM (top-level await) and as CommonJS (an async function and `.then()`).
 * `body` may use `RaveLevel`, `spawn`, `Worker`, `fs`, `path`, `stage(name)`, `until(fn)`,
 * `sleep(ms)`, `leftovers()` (what holds the event loop beyond what the script started with:
 * `'none'` once everything settled) and `here` (the script's folder).
 */
export function bothFormats(slug: string, body: string): { esm: string; cjs: string } {
  const common = `const stage = (name) => console.log('stage: ' + name)
// What keeps the event loop alive (ref'd handles, requests in flight) beyond what the script
// started with: once everything settled, nothing of ours may remain ('CloseReq' is a handle
// that was closed and is being freed by libuv).
// made on first use: count them in what we started with
void process.stdout
void process.stderr
const before = process.getActiveResourcesInfo()
function leftovers () {
  const left = process.getActiveResourcesInfo().filter((r) => r !== 'CloseReq')
  for (const r of before) {
    const i = left.indexOf(r)
    if (i !== -1) left.splice(i, 1)
  }
  return left.length === 0 ? 'none' : left.join(', ')
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
async function until (fn, ms = 15000) {
  const end = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + fn)
    await sleep(10)
  }
}
`
  const esm = `import { RaveLevel } from 'rave-level'
import { spawn } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
const here = path.dirname(fileURLToPath(import.meta.url))
${common}
${body}
`
  const cjs = `const { RaveLevel } = require('rave-level')
const { spawn } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const fs = require('node:fs')
const path = require('node:path')
const here = __dirname
${common}
async function main () {
${body}
}
main().then(() => {}, (err) => {
  console.error(err)
  process.exitCode = 1
})
`
  return { esm: writeScript(`${slug}.mjs`, esm), cjs: writeScript(`${slug}.cjs`, cjs) }
}
