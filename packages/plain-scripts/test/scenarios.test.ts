// Upstream rave-level's scenarios that fit in one script, and the ways a script ends (close in
// every role, close during a failover, worker threads, many processes at once), each as a user
// writes it, in ESM and in CommonJS, run with plain node: it must print 'done', exit with code 0,
// and exit by itself within a bound. A test runner keeps the event loop alive by itself, so only
// this shows whether `await db.close()` is waited for (design invariant 8).
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bothFormats, cli, failure, removeTempDirs, runNode, tempDir, writeScript } from './harness.js'

afterAll(removeTempDirs)

// Helpers the scenarios start. Each stays until its parent is gone, then closes and exits by itself.
beforeAll(() => {
  writeScript(
    'peer.mjs',
    `// A RaveLevel in another process: argv location, 'lead' or 'follow', a file to create once ready.
import fs from 'node:fs'
import { RaveLevel } from 'rave-level'
const [location, mode, ready] = process.argv.slice(2)
const parent = process.ppid
const db = new RaveLevel(location)
await db.open()
if (mode === 'lead' && db.role !== 'leader') throw new Error('expected to lead, but ' + db.role)
await db.put('peer/' + process.pid, mode)
fs.writeFileSync(ready, String(process.pid))
while (process.ppid === parent) {
  try { process.kill(parent, 0) } catch { break }
  await new Promise((resolve) => setTimeout(resolve, 50))
}
await db.close()
`
  )
  writeScript(
    'work.mjs',
    `// Open, do n puts and n gets, close, print 'done'; as a process (argv location n) or a worker thread.
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { RaveLevel } from 'rave-level'
const { location, n } = isMainThread ? { location: process.argv[2], n: Number(process.argv[3]) } : workerData
const db = new RaveLevel(location)
const me = isMainThread ? 'p' + process.pid : 't' + Math.random()
for (let i = 0; i < n; i++) {
  await db.put(me + '/' + i, String(i))
  if (await db.get(me + '/' + i) !== String(i)) throw new Error('wrong value')
}
const role = db.role
await db.close()
if (isMainThread) console.log('done as ' + role)
else parentPort.postMessage('done as ' + role)
`
  )
})

/** Run `body` in both formats with `args`; expect each to print `expected` and exit 0 by itself. */
async function scenario(
  slug: string,
  body: string,
  args: (dir: string) => string[],
  expected = ['done'],
  bound = 20_000
) {
  const files = bothFormats(slug, body)
  const problems: string[] = []
  for (const [format, file] of Object.entries(files)) {
    const dir = tempDir()
    const r = await runNode(`${slug} (${format})`, file, { args: args(dir), bound })
    const why = failure(r, expected)
    if (why !== undefined) problems.push(why)
  }
  expect(problems).toEqual([])
}

const dbIn = (dir: string) => [path.join(dir, 'db')]

const startPeer = `async function startPeer (location, mode, name) {
  const ready = path.join(path.dirname(location), name)
  const child = spawn(process.execPath, [path.join(here, 'peer.mjs'), location, mode, ready], { stdio: 'ignore' })
  child.unref()
  await until(() => fs.existsSync(ready))
  return child
}
`

describe('plain scripts', () => {
  it('one instance: put, get, close', async () => {
    await scenario(
      'one-instance',
      `const db = new RaveLevel(process.argv[2])
stage('put')
await db.put('k', 'v')
stage('get')
if (await db.get('k') !== 'v') throw new Error('wrong value')
stage('close as ' + db.role)
await db.close()
console.log('done, left: ' + leftovers())`,
      dbIn,
      ['done, left: none']
    )
  })

  for (const first of ['follower', 'leader'] as const) {
    it(`two instances in one process (upstream's "two databases"), the ${first} closes first`, async () => {
      await scenario(
        `two-instances-${first}-first`,
        `const leader = new RaveLevel(process.argv[2])
await leader.open()
const follower = new RaveLevel(process.argv[2])
await follower.open()
if (leader.role !== 'leader' || follower.role !== 'follower') throw new Error('roles: ' + leader.role + ', ' + follower.role)
stage('put, get')
await leader.put('k', 'v')
if (await follower.get('k') !== 'v') throw new Error('wrong value')
const [a, b] = ${first === 'follower' ? '[follower, leader]' : '[leader, follower]'}
stage('close the ${first}')
await a.close()
stage('close the other')
await b.close()
console.log('done', leader.status, follower.status, 'left: ' + leftovers())`,
        dbIn,
        ['done closed closed left: none']
      )
    })
  }

  it('a leader closes while a follower in another process is connected', async () => {
    await scenario(
      'leader-closes',
      `${startPeer}
const db = new RaveLevel(process.argv[2])
await db.open()
stage('start a follower')
await startPeer(process.argv[2], 'follow', 'follower-ready')
if (db.role !== 'leader' || await db.get('peer/' + (await fs.promises.readFile(path.join(path.dirname(process.argv[2]), 'follower-ready'), 'utf8'))) !== 'follow') throw new Error('no follower')
stage('close as leader')
await db.close()
console.log('done, left: ' + leftovers())`,
      dbIn,
      ['done, left: none']
    )
  })

  it('a follower closes while its leader runs in another process', async () => {
    await scenario(
      'follower-closes',
      `${startPeer}
await startPeer(process.argv[2], 'lead', 'leader-ready')
const db = new RaveLevel(process.argv[2])
await db.put('k', 'v')
if (db.role !== 'follower') throw new Error('expected to follow, but ' + db.role)
stage('close as follower')
await db.close()
console.log('done, left: ' + leftovers())`,
      dbIn,
      ['done, left: none']
    )
  })

  // A follower with 200 puts pending calls close() 0-50 ms after its leader's SIGKILL, with and
  // without another follower that takes over: close() resolves, every put settles, and nothing
  // keeps the process alive afterwards.
  for (const second of [false, true]) {
    for (const delay of [0, 10, 25, 50]) {
      it(`close ${delay} ms after the leader's SIGKILL, with 200 puts pending, ${second ? 'with' : 'without'} another follower`, async () => {
        await scenario(
          `close-in-failover-${delay}-${second ? 'second' : 'alone'}`,
          `${startPeer}
const location = process.argv[2]
const leader = await startPeer(location, 'lead', 'leader-ready')
${second ? "await startPeer(location, 'follow', 'follower-ready')" : ''}
const db = new RaveLevel(location)
await db.open()
if (db.role !== 'follower') throw new Error('expected to follow, but ' + db.role)
stage('200 puts, then SIGKILL the leader')
const puts = []
for (let i = 0; i < 200; i++) puts.push(db.put('k' + i, 'v').then(() => 'ok', (err) => err.code))
process.kill(leader.pid, 'SIGKILL')
await sleep(${delay})
stage('close')
await db.close()
stage('closed')
const outcomes = {}
for (const outcome of await Promise.all(puts)) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
console.log('done, left: ' + leftovers() + ', puts: ' + JSON.stringify(outcomes))`,
          dbIn,
          ['done, left: none']
        )
      })
    }
  }

  it('three worker threads on one location, each with 500 puts and gets, all close and exit with code 0', async () => {
    await scenario(
      'worker-threads',
      `const codes = await Promise.all([1, 2, 3].map((i) => new Promise((resolve) => {
  const w = new Worker(path.join(here, 'work.mjs'), { workerData: { location: process.argv[2], n: 500 } })
  let said = 'nothing'
  w.on('message', (m) => { said = m })
  w.on('error', (err) => { said = String(err) })
  w.on('exit', (code) => resolve(code + ' ' + said))
})))
stage('threads ended: ' + codes.join(', '))
if (!codes.every((c) => c.startsWith('0 done'))) throw new Error('threads: ' + codes.join(', '))
console.log('done')`,
      dbIn,
      ['done'],
      60_000
    )
  })

  it('a storm of 20 processes on one location, each with 50 puts and gets, all exit with code 0', async () => {
    await scenario(
      'storm',
      `const results = await Promise.all(Array.from({ length: 20 }, () => new Promise((resolve) => {
  const child = spawn(process.execPath, [path.join(here, 'work.mjs'), process.argv[2], '50'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  child.on('close', (code) => resolve({ code, out: out.trim() }))
})))
console.log('exit codes: ' + results.map((r) => r.code).join(' '))
const bad = results.filter((r) => r.code !== 0 || !r.out.startsWith('done'))
if (bad.length > 0) throw new Error(bad.length + ' of 20 failed: ' + JSON.stringify(bad))
console.log('done')`,
      dbIn,
      ['done'],
      90_000
    )
  })
})

describe('the command line, as a plain process', () => {
  // Each command must exit by itself: alone (it leads until it is done, then closes as the
  // leader) and beside a leader in another process (it follows).
  for (const beside of [false, true]) {
    it(`put, get, count, ls and watch ${beside ? 'beside a leader in another process' : 'with no other process'}`, async () => {
      await scenario(
        `cli-${beside ? 'beside' : 'alone'}`,
        `${startPeer}
const location = process.argv[2]
const cli = ${JSON.stringify(cli)}
${beside ? "await startPeer(location, 'lead', 'leader-ready')" : 'await fs.promises.mkdir(location, { recursive: true })'}
let said = ''
function rave (...args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => {
      out += chunk
      said += chunk
    })
    const bound = setTimeout(() => child.kill('SIGKILL'), 15000)
    child.on('close', (code, signal) => {
      clearTimeout(bound)
      resolve({ code, signal, out: out.trim() })
    })
  })
}
async function expectRun (args, code, out) {
  stage('rave-level ' + args.join(' '))
  const r = await rave(...args)
  if (r.code !== code || (out !== undefined && r.out !== out)) throw new Error('rave-level ' + args.join(' ') + ': ' + JSON.stringify(r))
}
await expectRun(['put', location, 'k', 'v'${beside ? '' : ", '--create'"}], 0)
await expectRun(['get', location, 'k'], 0, 'v')
await expectRun(['get', location, 'missing'], 1)
await expectRun(['count', location, '--prefix', 'k'], 0, '1')
await expectRun(['ls', location, '--prefix', 'k'], 0, 'k\\tv')
stage('watch --count 1, then a put')
const watching = rave('watch', location, '--prefix', 'w', '--count', '1')
await until(() => said.includes('watching'), 15000) // it says so once its watch is registered
await expectRun(['put', location, 'w1', 'x'], 0)
const w = await watching
if (w.code !== 0 || !/put\\tw1\\tx/.test(w.out)) throw new Error('watch: ' + JSON.stringify(w))
console.log('done')`,
        dbIn,
        ['done'],
        60_000
      )
    })
  }
})
