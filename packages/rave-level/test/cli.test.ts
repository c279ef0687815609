// The `rave-level` command against a database held by another real process (the CLI follows),
// and against one that no process holds (the CLI leads until it is done).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, defer, Peer, tempDir, until } from './helpers.js'
import { CLI, runCli, runCliOnTty, startCli } from './run-cli.js'

const ENTRIES: [string, string][] = [
  ['a', '1'],
  ['b', '2'],
  ['user:1', 'Ada'],
  ['user:2', 'Grace'],
  ['user:3', 'Linus'],
  ['user;', 'after the users'],
  ['z', '26']
]

/** Lines of output, without the final newline. */
const lines = (text: string) => text.split('\n').slice(0, -1)
const jsonLines = (text: string) => lines(text).map((line) => JSON.parse(line))
/** Run the CLI with each of `argsList` at once (runs that only parse arguments). */
const inParallel = (argsList: string[][]) =>
  Promise.all(argsList.map(async (args) => [args, await runCli(args)] as const))

describe('with a leader in another process', () => {
  let location: string
  let leader: Peer

  beforeAll(async () => {
    location = path.join(tempDir(), 'db')
    leader = new Peer(location)
    await leader.event('leader')
    await leader.call(
      'batch',
      ENTRIES.map(([key, value]) => ({ type: 'put', key, value }))
    )
  })
  afterAll(cleanup)

  /** Put the entries back as they were (tests that write restore them). */
  async function reset() {
    await leader.call('batch', [
      ...(await leader.call('entries', {})).map(([key]: [string]) => ({ type: 'del', key })),
      ...ENTRIES.map(([key, value]) => ({ type: 'put', key, value }))
    ])
  }

  it('status: this process follows, the leader serves at the endpoint', async () => {
    const human = await runCli(['status', location])
    expect(human).toMatchObject({ code: 0, stderr: '' })
    expect(human.stdout).toMatch(/^this process +pid \d+, follower$/m)
    expect(human.stdout).toContain(`endpoint     ${path.join(location, 'rave-level.sock')}`)
    const { code, stdout } = await runCli(['status', location, '--json'])
    expect(code).toBe(0)
    const [status] = jsonLines(stdout)
    expect(status).toMatchObject({ location, endpoint: path.join(location, 'rave-level.sock'), role: 'follower' })
    // Until the core reports the leader's pid, status says it is unknown; then it must be the leader's.
    expect([null, leader.pid]).toContain(status.leaderPid)
    expect(status.pid).not.toBe(leader.pid)
    expect(status.size === null || typeof status.size === 'number').toBe(true)
  })

  it('get prints a value; a missing key exits 1 with LEVEL_NOT_FOUND', async () => {
    expect(await runCli(['get', location, 'user:1'])).toEqual({ code: 0, stdout: 'Ada\n', stderr: '' })
    expect(await runCli(['get', location, 'user:1', '--json'])).toEqual({
      code: 0,
      stdout: '{"key":"user:1","value":"Ada"}\n',
      stderr: ''
    })
    const missing = await runCli(['get', location, 'nope'])
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'rave-level: LEVEL_NOT_FOUND: Key not found: nope\n' })
    const json = await runCli(['get', location, 'nope', '--json'])
    expect(json.code).toBe(1)
    expect(jsonLines(json.stderr)).toEqual([{ error: { code: 'LEVEL_NOT_FOUND', message: 'Key not found: nope' } }])
  })

  it('put and del go through the leader', async () => {
    expect(await runCli(['put', location, 'new', 'value'])).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(await leader.call('get', 'new')).toBe('value')
    expect(await runCli(['del', location, 'new', '--json'])).toEqual({ code: 0, stdout: '{"ok":true}\n', stderr: '' })
    expect(await leader.call('get', 'new')).toBe(null)
    // Deleting a missing key is not an error, as in LevelDB.
    expect((await runCli(['del', location, 'new'])).code).toBe(0)
  })

  it('ls lists entries in key order, whole or in part', async () => {
    const all = await runCli(['ls', location])
    expect(all).toMatchObject({ code: 0, stderr: '' })
    expect(lines(all.stdout)).toEqual(ENTRIES.map(([key, value]) => `${key}\t${value}`))
    const cases: [string[], string[]][] = [
      [
        ['--gt', 'b'],
        ['user:1', 'user:2', 'user:3', 'user;', 'z']
      ],
      [
        ['--gte', 'b', '--lt', 'user:3'],
        ['b', 'user:1', 'user:2']
      ],
      [
        ['--lte', 'b'],
        ['a', 'b']
      ],
      [
        ['--prefix', 'user:'],
        ['user:1', 'user:2', 'user:3']
      ],
      [
        ['--prefix', 'user:', '--reverse'],
        ['user:3', 'user:2', 'user:1']
      ],
      [
        ['--limit', '2', '--reverse'],
        ['z', 'user;']
      ],
      [['--limit', '0'], []],
      [['--prefix', 'nothing'], []]
    ]
    const results = await inParallel(cases.map(([flags]) => ['ls', location, '--keys', ...flags]))
    for (const [i, [, { code, stdout }]] of results.entries()) {
      const [flags, keys] = cases[i] as [string[], string[]]
      expect({ flags, code, keys: lines(stdout) }).toEqual({ flags, code: 0, keys })
    }
    expect(lines((await runCli(['ls', location, '--values', '--prefix', 'user:'])).stdout)).toEqual([
      'Ada',
      'Grace',
      'Linus'
    ])
    expect(jsonLines((await runCli(['ls', location, '--json', '--lt', 'b'])).stdout)).toEqual([
      { key: 'a', value: '1' }
    ])
    expect(jsonLines((await runCli(['ls', location, '--json', '--keys', '--lte', 'b'])).stdout)).toEqual([
      { key: 'a' },
      { key: 'b' }
    ])
  })

  it('count counts entries, whole or in part', async () => {
    const [all, prefix, bounded, none] = await inParallel([
      ['count', location],
      ['count', location, '--prefix', 'user:'],
      ['count', location, '--gt', 'a', '--lt', 'z', '--limit', '4'],
      ['count', location, '--gte', 'zz', '--json']
    ])
    expect(all?.[1]).toEqual({ code: 0, stdout: `${ENTRIES.length}\n`, stderr: '' })
    expect(prefix?.[1].stdout).toBe('3\n')
    expect(bounded?.[1].stdout).toBe('4\n')
    expect(none?.[1].stdout).toBe('{"count":0}\n')
  })

  it('clear needs --yes without a terminal, and deletes only the range', async () => {
    const refused = await runCli(['clear', location, '--prefix', 'user:'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^rave-level: clear deletes data: pass --yes .*\n$/)
    expect(await leader.call('entries', {})).toHaveLength(ENTRIES.length)

    expect(await runCli(['clear', location, '--prefix', 'user:', '--yes'])).toEqual({
      code: 0,
      stdout: 'deleted 3 entries\n',
      stderr: ''
    })
    expect((await leader.call('entries', {})).map(([key]: [string]) => key)).toEqual(['a', 'b', 'user;', 'z'])
    expect(await runCli(['clear', location, '--gte', 'user', '--yes', '--json'])).toMatchObject({
      code: 0,
      stdout: '{"ok":true,"deleted":2}\n'
    })
    expect((await leader.call('entries', {})).map(([key]: [string]) => key)).toEqual(['a', 'b'])
    await reset()
  })

  it('clear asks on a terminal: "y" deletes, anything else deletes nothing and exits 1', async () => {
    const declined = await runCliOnTty(['clear', location, '--prefix', 'user:'], '[y/N]', 'n\n')
    expect(declined.screen).toContain(`Delete 3 entries (--prefix "user:") in ${location}? [y/N]`)
    expect(declined.screen).toContain('LEVEL_ABORTED')
    expect(declined.code).toBe(1)
    expect(await leader.call('entries', {})).toHaveLength(ENTRIES.length)

    const confirmed = await runCliOnTty(['clear', location], '[y/N]', 'y\n')
    expect(confirmed.screen).toContain(`Delete all ${ENTRIES.length} entries in ${location}? [y/N]`)
    expect(confirmed.code).toBe(0)
    expect(confirmed.screen).toContain(`deleted ${ENTRIES.length} entries`)
    expect(await leader.call('entries', {})).toEqual([])
    await reset()
  })

  it('encodings: hex, base64 and json keys and values', async () => {
    // "hi" in hex, "hello" in base64: stored as the same bytes the utf8 text would be.
    expect(
      (await runCli(['put', location, '6869', 'aGVsbG8=', '--key-encoding', 'hex', '--value-encoding', 'base64'])).code
    ).toBe(0)
    expect(await leader.call('get', 'hi')).toBe('hello')
    expect((await runCli(['get', location, 'hi', '--value-encoding', 'hex'])).stdout).toBe('68656c6c6f\n')
    expect((await runCli(['get', location, 'aGk=', '--key-encoding', 'base64'])).stdout).toBe('hello\n')

    // json: the argument is parsed, stored as JSON text, and printed as a value with --json.
    expect(
      (
        await runCli([
          'put',
          location,
          '["order",7]',
          '{ "qty": 2 }',
          '--key-encoding',
          'json',
          '--value-encoding',
          'json'
        ])
      ).code
    ).toBe(0)
    expect(await leader.call('get', '["order",7]')).toBe('{"qty":2}')
    expect(
      await runCli(['get', location, '["order",7]', '--key-encoding', 'json', '--value-encoding', 'json', '--json'])
    ).toEqual({
      code: 0,
      stdout: '{"key":["order",7],"value":{"qty":2}}\n',
      stderr: ''
    })
    expect(
      (await runCli(['get', location, '["order",7]', '--key-encoding', 'json', '--value-encoding', 'json'])).stdout
    ).toBe('{"qty":2}\n')
    expect(
      lines((await runCli(['ls', location, '--keys', '--key-encoding', 'hex', '--prefix', '6869'])).stdout)
    ).toEqual(['6869'])

    // A stored value that is not JSON fails to decode (exit 1); arguments that are invalid are usage errors (exit 2).
    const undecodable = await runCli(['get', location, 'user:1', '--value-encoding', 'json'])
    expect(undecodable.code).toBe(1)
    expect(undecodable.stderr).toMatch(/^rave-level: LEVEL_DECODE_ERROR: /)
    for (const args of [
      ['put', location, 'k', '{oops', '--value-encoding', 'json'],
      ['get', location, 'xyz', '--key-encoding', 'hex'],
      ['get', location, 'a?', '--key-encoding', 'base64'],
      ['get', location, 'a', '--key-encoding', 'latin1']
    ]) {
      const result = await runCli(args)
      expect({ args, code: result.code, lines: lines(result.stderr).length }).toEqual({ args, code: 2, lines: 1 })
    }
    expect(await leader.call('get', 'k')).toBe(null)
    await reset()
  })

  it('usage errors exit 2 with one line; --help exits 0', async () => {
    const usage = [
      [],
      ['frobnicate', location],
      ['get', location],
      ['get', location, 'a', 'extra'],
      ['ls', location, '--limit', '-1'],
      ['ls', location, '--limit', 'ten'],
      ['ls', location, '--bogus'],
      ['ls', location, '--prefix', 'user:', '--gt', 'a'],
      ['ls', location, '--keys', '--values']
    ]
    for (const [args, result] of await inParallel(usage)) {
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' })
      if (args.length > 0)
        expect({ args, stderr: lines(result.stderr) }).toEqual({
          args,
          stderr: [expect.stringMatching(/^rave-level: /)]
        })
    }
    const commands = ['get', 'put', 'del', 'ls', 'count', 'clear', 'status']
    for (const [[command], help] of await inParallel(commands.map((command) => [command, '--help']))) {
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`Usage: rave-level ${command} [options] <location>`)
    }
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/Commands:\n {2}get .*\n {2}put /)
  })

  it('ls into a reader that goes away (EPIPE) exits quietly', async () => {
    await leader.call(
      'batch',
      Array.from({ length: 20_000 }, (_, i) => ({ type: 'put', key: `many/${i}`, value: 'x'.repeat(50) }))
    )
    const child = spawn(process.execPath, [CLI, 'ls', location], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    // Like `| head -1`: read one chunk, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy())
    const code = await new Promise((resolve) => child.on('close', resolve))
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    await runCli(['clear', location, '--prefix', 'many/', '--yes'])
    expect(await leader.call('entries', {})).toHaveLength(ENTRIES.length)
  })

  it('watch prints every write of other processes live, in order, a clear as deletes', async () => {
    const watched: Promise<unknown>[] = []
    const json = startCli(['watch', location, '--prefix', 'w/', '--json', '--count', '6'])
    const human = startCli(['watch', location, '--prefix', 'w/', '--keys', '--count', '6'])
    for (const run of [json, human]) watched.push(run.printed('watching'))
    await Promise.all(watched)
    // Once it says it is watching, the leader has registered it: every later write is seen.
    await leader.call('put', 'w/1', 'one')
    await leader.call('put', 'outside', 'x')
    await leader.call('batch', [
      { type: 'put', key: 'w/2', value: 'two' },
      { type: 'del', key: 'w/1' }
    ])
    expect(await runCli(['put', location, 'w/3', 'three'])).toMatchObject({ code: 0 })
    await leader.call('clear', { gte: 'w/', lt: 'w0' })
    const [a, b] = await Promise.all([json.exit, human.exit])
    expect(a).toMatchObject({ code: 0 })
    expect(jsonLines(a.stdout)).toEqual([
      { type: 'put', key: 'w/1', value: 'one' },
      { type: 'put', key: 'w/2', value: 'two' },
      { type: 'del', key: 'w/1' },
      { type: 'put', key: 'w/3', value: 'three' },
      // The clear, exactly: the keys it removed.
      { type: 'del', key: 'w/2' },
      { type: 'del', key: 'w/3' }
    ])
    expect(b).toMatchObject({ code: 0 })
    expect(lines(b.stdout)).toEqual(['put\tw/1', 'put\tw/2', 'del\tw/1', 'put\tw/3', 'del\tw/2', 'del\tw/3'])
    await leader.call('del', 'outside')
    expect(await leader.call('entries', {})).toHaveLength(ENTRIES.length)
  })

  it('watch ends on Ctrl-C with exit 0 and releases its watch on the leader', async () => {
    const run = startCli(['watch', location])
    await run.printed('rave-level: watching')
    expect((await leader.call('host')).watches).toBe(1)
    run.child.kill('SIGINT')
    const { code } = await run.exit
    expect(code).toBe(0)
    await until(async () => (await leader.call('host')).watches === 0)
  })
})

describe('with no process holding it', () => {
  afterAll(cleanup)

  it('refuses a location without a database, and creates one only with --create', async () => {
    const dir = tempDir()
    const location = path.join(dir, 'db')
    for (const args of [
      ['get', location, 'a'],
      ['ls', location],
      ['put', location, 'a', '1'],
      ['status', location]
    ]) {
      const result = await runCli(args)
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 1, stdout: '' })
      expect(result.stderr).toBe(
        `rave-level: LEVEL_DATABASE_NOT_OPEN: No database at ${location}: it does not exist; pass --create to create one\n`
      )
    }
    expect(fs.existsSync(location)).toBe(false)
    // A folder that is not a LevelDB database is left alone too.
    const notes = path.join(dir, 'notes')
    fs.mkdirSync(notes)
    const refused = await runCli(['ls', notes])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('no CURRENT file')
    expect(fs.readdirSync(notes)).toEqual([])

    expect(await runCli(['put', location, 'a', '1', '--create'])).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(await runCli(['get', location, 'a'])).toEqual({ code: 0, stdout: '1\n', stderr: '' })
  })

  it('leads while it runs and leaves the lock free when done', async () => {
    const location = path.join(tempDir(), 'db')
    const db = new ClassicLevel(location)
    await db.batch(ENTRIES.map(([key, value]) => ({ type: 'put' as const, key, value })))
    await db.close()

    const { code, stdout } = await runCli(['status', location, '--json'])
    expect(code).toBe(0)
    const [status] = jsonLines(stdout)
    expect(status).toMatchObject({ role: 'leader', location })
    expect([null, status.pid]).toContain(status.leaderPid)
    expect((await runCli(['count', location])).stdout).toBe(`${ENTRIES.length}\n`)
    expect(await runCli(['put', location, 'c', '3'])).toMatchObject({ code: 0 })
    expect(lines((await runCli(['ls', location, '--keys', '--lt', 'user'])).stdout)).toEqual(['a', 'b', 'c'])
    expect(await runCli(['clear', location, '--yes', '--gte', 'user', '--lt', 'v'])).toMatchObject({ code: 0 })

    // Every run closed the database: classic-level can take the lock and sees what the CLI wrote.
    const after = new ClassicLevel(location)
    defer(() => after.close())
    expect(await after.keys().all()).toEqual(['a', 'b', 'c', 'z'])
  })

  it('gives up with LEVEL_LOCKED when the lock is held by a process that does not serve', async () => {
    const location = path.join(tempDir(), 'db')
    const holder = new ClassicLevel(location)
    await holder.open()
    defer(() => holder.close())
    const result = await runCli(['get', location, 'a', '--timeout', '300'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^rave-level: LEVEL_LOCKED: .*\n$/)
  })
})
