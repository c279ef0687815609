import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { startEtcd, stopEtcds } from './etcd.js'
import { cleanup, freePort, tempDir } from './helpers.js'

const PACKAGE = join(import.meta.dirname, '..')
const EXAMPLES = join(PACKAGE, 'examples')

/** A plain `node` process running an example, with its output as lines. */
interface Run {
  process: ChildProcess
  lines: string[]
  /** Resolve with the first line after the last one a match took (printed already or not) that matches. */
  line(match: RegExp, timeout?: number): Promise<RegExpMatchArray>
}

const runs = new Set<Run>()

afterEach(async () => {
  await Promise.all(
    [...runs].map(async ({ process: child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    })
  )
  runs.clear()
  await stopEtcds()
  await cleanup()
})

function run(file: string, args: Array<string | number>): Run {
  const child = spawn(process.execPath, [resolve(EXAMPLES, file), ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines: string[] = []
  const waiters = new Set<() => void>()
  let buffered = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    lines.push(...parts)
    for (const waiter of waiters) waiter()
  })
  let taken = 0
  const result: Run = {
    process: child,
    lines,
    line(match, timeout = 15000) {
      return new Promise((resolve, reject) => {
        // Each waiter scans from where the last match was taken, so that a waiter still pending
        // (the loser of a race) does not take lines from the next one.
        let next = taken
        const check = (): void => {
          for (; next < lines.length; next++) {
            const found = lines[next]!.match(match)
            if (found !== null) {
              taken = Math.max(taken, next + 1)
              waiters.delete(check)
              clearTimeout(timer)
              resolve(found)
              return
            }
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`Timed out waiting for ${match} from ${file}; got ${JSON.stringify(lines)}`))
        }, timeout)
        waiters.add(check)
        check()
      })
    }
  }
  runs.add(result)
  return result
}

test('the scheduler example: one copy fires each slot, another takes over when it is killed, and all exit on SIGINT', async () => {
  const etcd = await startEtcd()
  const file = join(tempDir(), 'jobs.log')
  const port = await freePort()
  await run('fenced-log.mjs', [file, port]).line(/^job log/)

  const args = ['--etcd', etcd.url, '--log-port', port, '--demo', '--period', '0.5']
  const copies = [run('scheduler.mjs', args), run('scheduler.mjs', args), run('scheduler.mjs', args)]
  const leading = await Promise.any(copies.map(async (copy) => ({ copy, found: await copy.line(/leads with token/) })))
  const first = leading.copy
  await first.line(/slot .*: ok/)
  const others = copies.filter((copy) => copy !== first)
  await Promise.all(others.map((copy) => copy.line(new RegExp(`follows ${first.process.pid} `))))

  first.process.kill('SIGKILL')
  const next = await Promise.any(others.map(async (copy) => ({ copy, found: await copy.line(/leads with token/) })))
  await next.copy.line(/slot .*: ok/)

  // Each slot once, in the order of the tokens that fired it, by both leaders.
  const entries = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
  expect(new Set(entries.map(([, job]) => job)).size).toBe(entries.length)
  const tokens = entries.map(([token]) => BigInt(token!))
  expect(tokens).toEqual([...tokens].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  expect(new Set(entries.map(([, , text]) => text)).size).toBe(2)

  // SIGINT closes the election, which lets the process exit by itself.
  for (const copy of others) copy.process.kill('SIGINT')
  const codes = await Promise.all(others.map(async (copy) => (await once(copy.process, 'exit'))[0]))
  expect(codes).toEqual([0, 0])
}, 40000)

/** The first js block of the README after `heading`, as a file that imports this build and uses `etcdUrl`. */
function readmeSnippet(heading: string, etcdUrl: string): string {
  const readme = readFileSync(join(PACKAGE, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(heading))
  const snippet = /```js\n([\s\S]*?)```/.exec(section)?.[1]
  if (snippet === undefined) throw new Error(`No js block after ${heading}`)
  // The published name resolves to this package's build; the etcd is the test's.
  const file = join(tempDir(), 'snippet.mjs')
  writeFileSync(
    file,
    snippet
      .replace("'@rave-level/election/lease'", JSON.stringify(join(PACKAGE, 'dist', 'lease.js')))
      .replace("'http://127.0.0.1:2379'", JSON.stringify(etcdUrl))
  )
  return file
}

test("the README's LeaseElection snippet leads, acts, and exits on SIGINT", async () => {
  const etcd = await startEtcd()
  const file = readmeSnippet('## Lease lock: `LeaseElection`', etcd.url)
  expect(readFileSync(file, 'utf8')).toContain('new LeaseElection(')
  const snippetRun = run(file, [])
  await snippetRun.line(/^sending reports as leader \d+$/)
  snippetRun.process.kill('SIGINT')
  const [code] = await once(snippetRun.process, 'exit')
  expect(code).toBe(0)
})

test("the README's LeaderObserver snippet finds that leader's value and token, and exits by itself", async () => {
  const etcd = await startEtcd()
  const candidate = run(readmeSnippet('## Lease lock: `LeaseElection`', etcd.url), [])
  const [, token] = (await candidate.line(/^sending reports as leader (\d+)$/)) as string[]
  const observer = run(readmeSnippet('### Observing: `LeaderObserver`', etcd.url), [])
  const [, value] = (await observer.line(/^(tcp:\/\/.+:7000) leads \(token (\d+)\)$/)) as string[]
  expect(observer.lines[0]).toBe(`${value} leads (token ${token})`)
  await observer.line(new RegExp(`^connecting to ${value}$`))
  // A hang guard: the process must end once the observer closed.
  const [code] = await once(observer.process, 'exit')
  expect(code).toBe(0)
  candidate.process.kill('SIGINT')
  await once(candidate.process, 'exit')
})
