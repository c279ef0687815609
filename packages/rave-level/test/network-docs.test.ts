// The network setup as the docs show it: SECURITY.md's openssl commands make the files, and
// each snippet runs as a plain `node` process, so that the docs cannot drift from the code.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeAll, expect, it } from 'vitest'
import { EtcdProcess } from '../../election/test/fixtures/etcd-server.mjs'
import { RaveLevel } from '../dist/index.js'
import { cleanup, defer, tempDir } from './helpers.js'
import { freePort } from './remote-helpers.js'

const run = promisify(execFile)
const packageDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const root = path.join(packageDir, '..', '..')

/** The first block of `lang` after `heading` in `file`. */
function snippet(file: string, heading: string, lang: string): string {
  const text = fs.readFileSync(path.join(root, file), 'utf8')
  const after = text.split(`\n${heading}\n`)[1]
  const code = after?.match(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``))?.[1]
  if (code === undefined) throw new Error(`${file} has no \`\`\`${lang} block under ${heading}`)
  return code
}

let dir: string

beforeAll(async () => {
  // Not registered for cleanup per test: every test of this file uses the files.
  dir = fs.mkdtempSync('/tmp/rl-docs-')
  await run('bash', ['-ec', snippet('SECURITY.md', '### Certificates and tokens', 'sh')], { cwd: dir })
  // `import 'rave-level'` from the snippets resolves to this package.
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(packageDir, path.join(dir, 'node_modules', 'rave-level'))
  // And `@rave-level/election/lease` to the election's (the snippet "Through an election").
  fs.mkdirSync(path.join(dir, 'node_modules', '@rave-level'))
  fs.symlinkSync(path.join(packageDir, '..', 'election'), path.join(dir, 'node_modules', '@rave-level', 'election'))
  return () => fs.rmSync(dir, { recursive: true, force: true })
})

afterEach(cleanup)

/** Run `code` as an ES module in the docs' directory, on a free port instead of 7443 (and the test's etcd, if given). */
async function runSnippet(code: string, port: number, etcdUrl?: string): Promise<string> {
  const file = path.join(dir, `snippet-${port}.mjs`)
  let text = code.replaceAll('7443', String(port))
  if (etcdUrl !== undefined) text = text.replaceAll('http://127.0.0.1:2379', etcdUrl)
  fs.writeFileSync(file, text)
  const env = { ...process.env }
  delete env.RAVE_LEVEL_TOKEN
  const { stdout } = await run(process.execPath, [file], { cwd: dir, env, timeout: 30_000 })
  return stdout
}

it("SECURITY.md's commands make a CA, a server and a client certificate, and a private token", () => {
  for (const name of ['ca.pem', 'server.key', 'server.pem', 'client.key', 'client.pem', 'token'])
    expect(fs.existsSync(path.join(dir, name))).toBe(true)
  expect(fs.statSync(path.join(dir, 'token')).mode & 0o077).toBe(0)
  expect(fs.readFileSync(path.join(dir, 'token'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/)
})

it("the root README's network snippet runs", async () => {
  const out = await runSnippet(snippet('README.md', '### Over the network', 'js'), await freePort())
  expect(out).toBe('value\n')
})

it("the package README's network snippet runs", async () => {
  const out = await runSnippet(snippet('packages/rave-level/README.md', '### Over the network', 'js'), await freePort())
  expect(out).toBe('hello\nhi\n')
})

it("the package README's election snippet runs: the remote follower finds the leader's URL in etcd", async () => {
  const etcd = new EtcdProcess({ clientPort: await freePort(), peerPort: await freePort(), dataDir: tempDir() })
  defer(() => etcd.stop('SIGKILL'))
  await etcd.start()
  const port = await freePort()
  const out = await runSnippet(
    snippet('packages/rave-level/README.md', '### Through an election', 'js'),
    port,
    etcd.url
  )
  expect(out).toBe(`hello tls://localhost:${port}\n`)
})

it("SECURITY.md's leader snippet runs: a client certificate alone reads and cannot write", async () => {
  const out = await runSnippet(snippet('SECURITY.md', '### The leader: `listen`', 'js'), await freePort())
  expect(out).toBe('readonly\nLEVEL_READONLY\n')
})

it("SECURITY.md's client snippet runs against such a leader", async () => {
  const port = await freePort()
  const read = (name: string) => fs.readFileSync(path.join(dir, name))
  const leader = new RaveLevel(tempDir(), {
    listen: {
      host: 'localhost',
      port,
      tls: { key: read('server.key'), cert: read('server.pem') },
      tokens: [{ token: read('token').toString().trim(), access: 'readwrite' }]
    }
  })
  defer(() => leader.close())
  await leader.open()
  const out = await runSnippet(
    snippet('SECURITY.md', '### The clients: `RaveLevel.connect()` and the command line', 'js'),
    port
  )
  expect(out).toBe('undefined readwrite\nLEVEL_READONLY\n')
  expect(await leader.get('k')).toBeUndefined()
})
