import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type SocketPathOptions, openEndpoint, publishEndpoint, readEndpoint, socketPath } from '../src/index.js'
import { TempRoots, longLocation } from './temp-root.js'

const roots = new TempRoots()
afterEach(() => roots.cleanup())

const FILE = 'rave-level.endpoint'

/** The name of what `readEndpoint()` opens (closed again at once). */
async function readName(location: string, options?: SocketPathOptions): Promise<string> {
  const endpoint = await readEndpoint(location, options)
  endpoint.close()
  return endpoint.name
}

describe.skipIf(process.platform === 'win32')('publishEndpoint() and readEndpoint()', () => {
  function setup(kind: 'short' | 'long' = 'long') {
    const root = roots.create()
    const location = kind === 'short' ? path.join(root, 'db') : longLocation(root, 150, 'x')
    fs.mkdirSync(location, { recursive: true })
    return { root, location, options: { tmpdir: root, env: {} } }
  }

  it('writes the record that only its owner may change, even under umask 0', () => {
    const { location } = setup('short')
    const dist = path.join(import.meta.dirname, '..', 'dist', 'index.js')
    const script = `process.umask(0); const m = await import(${JSON.stringify(dist)}); await m.publishEndpoint(${JSON.stringify(location)}, ${JSON.stringify(path.join(location, 'x.sock'))})`
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(fs.statSync(path.join(location, FILE)).mode & 0o777).toBe(0o644)
  })

  it("falls back to socketPath()'s endpoint when nothing is published", async () => {
    for (const kind of ['short', 'long'] as const) {
      const { location, options } = setup(kind)
      expect(await readName(location, options)).toBe(socketPath(location, options))
    }
  })

  it("falls back to socketPath()'s endpoint for a location that does not exist yet", async () => {
    const root = roots.create()
    const location = path.join(root, 'not', 'yet')
    expect(await readName(location)).toBe(path.join(location, 'rave-level.sock'))
  })

  it('returns what the leader published, for short and long locations', async () => {
    for (const kind of ['short', 'long'] as const) {
      const { root, location, options } = setup(kind)
      const elsewhere = path.join(root, 'elsewhere.sock')

      await publishEndpoint(location, elsewhere)
      expect(await readName(location, options)).toBe(elsewhere)
      expect(fs.readdirSync(location)).toEqual([FILE]) // no temporary file left behind
    }
  })

  it.skipIf(process.platform !== 'linux')(
    "records a long location's in-location socket by name, and readers reach it through their own descriptor",
    async () => {
      const { location, options } = setup('long')
      const leader = openEndpoint(location, options)
      try {
        await publishEndpoint(location, leader)
        const record = JSON.parse(fs.readFileSync(path.join(location, FILE), 'utf8'))
        expect(record.endpoint).toBe(path.join(location, 'rave-level.sock'))

        const follower = await readEndpoint(location, options)
        follower.close()
        expect(follower.name).toBe(leader.name)
        expect(follower.path).toMatch(/^\/proc\/self\/fd\/\d+\/rave-level\.sock$/)

        // A path through a descriptor means something else in every other process.
        await expect(publishEndpoint(location, leader.path)).rejects.toBeInstanceOf(TypeError)
        fs.writeFileSync(path.join(location, FILE), `${JSON.stringify({ endpoint: leader.path, location })}\n`)
        expect(await readName(location, options)).toBe(leader.name)
      } finally {
        leader.close()
      }
    }
  )

  it('is found through any spelling of the location', async () => {
    const { root, location, options } = setup()
    fs.symlinkSync(root, path.join(root, 'alias'))
    const alias = location.replace(root, path.join(root, 'alias'))
    const endpoint = path.join(root, 'e.sock')

    await publishEndpoint(path.relative(process.cwd(), alias), endpoint)

    expect(await readName(location, options)).toBe(endpoint)
    expect(await readName(alias + '/', options)).toBe(endpoint)
    expect(await readName(path.relative(process.cwd(), location), options)).toBe(endpoint)
  })

  it('replaces an earlier record', async () => {
    const { root, location, options } = setup()
    await publishEndpoint(location, path.join(root, 'first.sock'))
    await publishEndpoint(location, path.join(root, 'second.sock'))

    expect(await readName(location, options)).toBe(path.join(root, 'second.sock'))
  })

  it('never exposes a partial record while records are replaced (100 rounds)', async () => {
    const { root, location, options } = setup()
    const candidates = [path.join(root, 'a.sock'), path.join(root, 'b.sock')]
    await publishEndpoint(location, candidates[0]!)

    for (let round = 0; round < 100; round++) {
      const writes = Promise.all([
        publishEndpoint(location, candidates[round % 2]!),
        publishEndpoint(location, candidates[(round + 1) % 2]!)
      ])
      const reads = await Promise.all([readName(location, options), readName(location, options)])
      await writes

      for (const endpoint of reads) expect(candidates).toContain(endpoint)
    }

    expect(fs.readdirSync(location)).toEqual([FILE])
  })

  it('ignores a record of another location (a copied directory)', async () => {
    const { root, location, options } = setup('short')
    await publishEndpoint(location, path.join(root, 'original.sock'))
    const copy = path.join(root, 'copy')
    fs.cpSync(location, copy, { recursive: true })

    expect(await readName(copy, options)).toBe(path.join(copy, 'rave-level.sock'))
    expect(await readName(location, options)).toBe(path.join(root, 'original.sock'))
  })

  it('ignores garbage', async () => {
    const { root, location, options } = setup()
    const fallback = socketPath(location, options)
    const real = fs.realpathSync(location)
    const record = (endpoint: unknown, loc: unknown = real) => JSON.stringify({ endpoint, location: loc }) + '\n'

    const garbage = [
      '',
      '\n',
      'hello\n',
      path.join(root, 'x.sock') + '\n', // the bare path is not the format
      record(path.join(root, 'x.sock')).trimEnd(), // cut short: no newline
      record(path.join(root, 'x.sock')) + 'more',
      record('relative/x.sock'),
      record('/tmp/a\0b.sock'),
      record('/tmp/a\nb.sock'),
      record('/' + 'x'.repeat(107)),
      record(''),
      record(42),
      record(path.join(root, 'x.sock'), 42),
      record('\\\\.\\pipe\\rave-level-x'), // a pipe is not a linux endpoint
      'null\n',
      '"/tmp/x.sock"\n',
      '[]\n',
      // Invalid UTF-8 inside an otherwise valid endpoint.
      Buffer.concat([
        Buffer.from('{"endpoint":"/tmp/x'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(record('.sock').slice(13))
      ]),
      record('/tmp/x.sock') + ' '.repeat(70 * 1024) + '\n'
    ]

    for (const content of garbage) {
      fs.writeFileSync(path.join(location, FILE), content)
      expect(await readName(location, options), JSON.stringify(content.toString().slice(0, 80))).toBe(fallback)
    }

    fs.rmSync(path.join(location, FILE))
    fs.mkdirSync(path.join(location, FILE))
    expect(await readName(location, options)).toBe(fallback)
  })

  it('does not hang on a FIFO in place of the record', async () => {
    const { location, options } = setup()
    const made = spawnSync('mkfifo', [path.join(location, FILE)])
    if (made.error !== undefined || made.status !== 0) return // no mkfifo here

    expect(await readName(location, options)).toBe(socketPath(location, options))
  })

  it("validates against the reader's platform", async () => {
    const { location, options } = setup('short')
    const pipe = '\\\\.\\pipe\\rave-level-abc'
    const darwinTooLong = '/' + 'x'.repeat(104)

    await publishEndpoint(location, pipe, { platform: 'win32' })
    expect(await readName(location, { ...options, platform: 'win32' })).toBe(pipe)
    expect(await readName(location, options)).toBe(path.join(location, 'rave-level.sock'))

    await publishEndpoint(location, darwinTooLong, { platform: 'linux' })
    expect(await readName(location, { ...options, platform: 'linux' })).toBe(darwinTooLong)
    expect(await readName(location, { ...options, platform: 'darwin' })).toBe(path.join(location, 'rave-level.sock'))
  })

  it('rejects invalid arguments with a TypeError', async () => {
    const { location } = setup('short')

    await expect(publishEndpoint('', '/tmp/x.sock')).rejects.toBeInstanceOf(TypeError)
    await expect(publishEndpoint(42 as unknown as string, '/tmp/x.sock')).rejects.toBeInstanceOf(TypeError)
    for (const endpoint of ['', 'x.sock', '/tmp/a\0b', '/' + 'x'.repeat(107), 42, '\\\\.\\pipe\\a\\b']) {
      await expect(publishEndpoint(location, endpoint as string, { platform: 'linux' })).rejects.toBeInstanceOf(
        TypeError
      )
    }
    for (const endpoint of ['\\\\.\\pipe\\a\\b', '\\\\.\\pipe\\', '\\\\.\\pipe\\' + 'x'.repeat(256), '/tmp/x.sock']) {
      await expect(publishEndpoint(location, endpoint, { platform: 'win32' })).rejects.toBeInstanceOf(TypeError)
    }
    await expect(readEndpoint('')).rejects.toBeInstanceOf(TypeError)
    await expect(readEndpoint(location, { uid: -1 })).rejects.toBeInstanceOf(TypeError)
    expect(fs.readdirSync(location)).toEqual([])
  })

  it('rejects with the file system error when the location does not exist', async () => {
    const root = roots.create()
    await expect(publishEndpoint(path.join(root, 'missing'), '/tmp/x.sock')).rejects.toMatchObject({ code: 'ENOENT' })
    expect(fs.readdirSync(root)).toEqual([])
  })
})
