// Remote followers: a leader that listens on TCP/TLS, and RaveLevel.connect() from elsewhere.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { RaveLevel } from '../dist/index.js'
import { cleanup, closeWhileOpening, defer, tempDir } from './helpers.js'
import { certificates, freePort, READ_TOKEN, remoteOptions, TOKEN, tlsLeader, tlsListen } from './remote-helpers.js'
import { runCli } from './run-cli.js'

afterEach(cleanup)

function connect(port: number, options: object = remoteOptions(), host = '127.0.0.1') {
  const db = RaveLevel.connect(`tls://${host}:${port}`, options as never)
  defer(() => db.close())
  return db
}

describe('the listen option', () => {
  const c = () => certificates()
  const tokens = [{ token: TOKEN, access: 'readwrite' }]

  it('refuses any address other than loopback without TLS, insecure or not', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'db.example']) {
      for (const insecure of [false, true]) {
        expect(() => new RaveLevel(tempDir(), { listen: { host, port: 7443, tokens, insecure } as never })).toThrow(
          /without TLS/
        )
      }
    }
  })

  it('refuses plain TCP on loopback unless insecure, and insecure with TLS', () => {
    expect(() => new RaveLevel(tempDir(), { listen: { port: 7443, tokens } as never })).toThrow(/insecure/)
    const tls = { key: c().serverKey, cert: c().serverCert }
    expect(() => new RaveLevel(tempDir(), { listen: { port: 7443, tokens, tls, insecure: true } as never })).toThrow(
      /cannot be combined/
    )
  })

  it('refuses a setup in which nothing could authenticate, and short tokens', () => {
    const tls = { key: c().serverKey, cert: c().serverCert }
    expect(() => new RaveLevel(tempDir(), { listen: { port: 7443, tls } as never })).toThrow(
      /Nothing could authenticate/
    )
    expect(
      () =>
        new RaveLevel(tempDir(), {
          listen: { port: 7443, tls, tokens: [{ token: 'short', access: 'readwrite' }] } as never
        })
    ).toThrow(RangeError)
    expect(
      () =>
        new RaveLevel(tempDir(), { listen: { port: 7443, tls, tokens: [{ token: TOKEN, access: 'all' }] } as never })
    ).toThrow(TypeError)
  })

  it('listens only while this instance leads, and nothing listens without it', async () => {
    const port = await freePort()
    const location = tempDir()
    const first = new RaveLevel(location, { listen: tlsListen(port) as never })
    defer(() => first.close())
    await first.open()
    expect(first.role).toBe('leader')
    const second = new RaveLevel(location, { listen: tlsListen(port) as never })
    defer(() => second.close())
    // A follower that tried to bind the leader's port would report EADDRINUSE here.
    const faults: Error[] = []
    second.on('error', (err) => faults.push(err))
    await second.open()
    expect(second.role).toBe('follower')
    const remote = connect(port)
    await remote.put('k', 'v')
    expect(remote.leaderPid).toBe(process.pid)
    // The leader goes: the follower leads, binds the same port, and the remote follower finds it.
    await first.close()
    await remote.put('k2', 'v2')
    expect(second.role).toBe('leader')
    expect(await second.get('k2')).toBe('v2')
    expect(faults).toEqual([])
  })
})

describe('a remote follower', () => {
  it('reads, writes, iterates, watches and takes snapshots over TLS', async () => {
    const port = await freePort()
    const db = tlsLeader(port)
    await db.put('a', '1')
    const remote = connect(port)
    await remote.open()
    expect(remote.access).toBe('readwrite')
    expect(remote.supports.events.connect).toBe(true)
    expect(await remote.get('a')).toBe('1')
    const w = remote.watch()
    await w.ready
    await remote.batch([
      { type: 'put', key: 'b', value: '2' },
      { type: 'put', key: 'c', value: '3' }
    ])
    const snap = remote.snapshot()
    // Taken in issue order: the read after it waited for it.
    expect(await remote.get('a', { snapshot: snap })).toBe('1')
    await db.put('a', 'changed')
    expect(await remote.get('a', { snapshot: snap })).toBe('1')
    await snap.close()
    expect(await remote.iterator().all()).toEqual([
      ['a', 'changed'],
      ['b', '2'],
      ['c', '3']
    ])
    const seen = []
    for await (const change of w) {
      seen.push([change.type, change.type === 'gap' ? undefined : change.key])
      if (seen.length === 3) break
    }
    expect(seen).toEqual([
      ['put', 'b'],
      ['put', 'c'],
      ['put', 'a']
    ])
  })

  it('with a read-only token: every write-like call gets LEVEL_READONLY and nothing changes; reads and watches work', async () => {
    const port = await freePort()
    const db = tlsLeader(port)
    await db.batch([
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: '2' }
    ])
    const before = await db.iterator().all()
    const remote = connect(port, remoteOptions(READ_TOKEN))
    await remote.open()
    expect(remote.access).toBe('readonly')
    const w = remote.watch()
    await w.ready
    const writes: [string, () => Promise<unknown>][] = [
      ['put', () => remote.put('a', 'x')],
      ['del', () => remote.del('a')],
      ['batch', () => remote.batch([{ type: 'put', key: 'c', value: '3' }])],
      ['batch del', () => remote.batch([{ type: 'del', key: 'b' }])],
      ['chained batch', () => remote.batch().put('d', '4').del('a').write()],
      ['clear', () => remote.clear()],
      ['clear range', () => remote.clear({ gte: 'a', lt: 'b' })],
      ['limited clear', () => remote.clear({ limit: 1 })],
      ['compactRange', () => remote.compactRange('a', 'z')],
      ['sublevel put', () => remote.sublevel('s').put('k', 'v')]
    ]
    for (const [name, write] of writes) {
      await expect(write(), name).rejects.toMatchObject({ code: 'LEVEL_READONLY' })
    }
    expect(await db.iterator().all()).toEqual(before)
    expect(await remote.iterator().all()).toEqual(before)
    expect(await remote.getMany(['a', 'b'])).toEqual(['1', '2'])
    await db.put('e', '5')
    for await (const change of w) {
      expect(change).toMatchObject({ type: 'put', key: 'e', value: '5' })
      break
    }
  })

  it('with readOnly: true, rejects writes before they travel, whatever its token grants', async () => {
    const port = await freePort()
    const db = tlsLeader(port)
    const remote = connect(port, remoteOptions(TOKEN, { readOnly: true }))
    await remote.open()
    expect(remote.access).toBe('readwrite')
    await expect(remote.put('a', '1')).rejects.toMatchObject({ code: 'LEVEL_READONLY' })
    await expect(remote.compactRange('a', 'z')).rejects.toMatchObject({ code: 'LEVEL_READONLY' })
    expect(await db.iterator().all()).toEqual([])
    // Locally too: a RaveLevel with readOnly reads but does not write, in either role.
    const local = new RaveLevel(db.location, { readOnly: true })
    defer(() => local.close())
    await db.put('a', '1')
    expect(await local.get('a')).toBe('1')
    await expect(local.put('a', '2')).rejects.toMatchObject({ code: 'LEVEL_READONLY' })
    await expect(local.clear()).rejects.toMatchObject({ code: 'LEVEL_READONLY' })
    expect(await db.get('a')).toBe('1')
  })

  it('fails open() at once with LEVEL_AUTH_FAILED for a wrong or missing token', async () => {
    const port = await freePort()
    tlsLeader(port)
    for (const token of ['wrong-token-0123456789abcdef', undefined, '']) {
      const remote = connect(port, { token, tls: { ca: certificates().ca }, timeout: 60_000 })
      const started = Date.now()
      const err = await remote.open().then(
        () => null,
        (e) => e
      )
      expect(err).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_AUTH_FAILED' } })
      expect(Date.now() - started).toBeLessThan(30_000)
      await expect(remote.get('a')).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
    }
  })

  it('stops connecting at once when closed with nothing issued; with an operation issued, close() finishes it first', async () => {
    // Nothing listens on `port` yet: the follower keeps trying, for up to a minute.
    const port = await freePort()
    const idle = connect(port, remoteOptions(TOKEN, { timeout: 60_000 }))
    const { error, ms } = await closeWhileOpening(idle)
    expect(error).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_ABORTED' } })
    expect(ms).toBeLessThan(30_000)

    const busy = connect(port, remoteOptions(TOKEN, { timeout: 60_000 }))
    // (Closed in the very tick it was made, abstract-level would cancel the open itself.)
    const opening = busy.open()
    const put = busy.put('a', '1')
    const closed = busy.close()
    // The leader comes after close() was called: the put issued before it still goes through.
    const db = tlsLeader(port)
    await opening
    await put
    await closed
    expect(busy.status).toBe('closed')
    expect(await db.get('a')).toBe('1')
  }, 40_000)

  it('fails open() at once when the server certificate does not verify', async () => {
    const port = await freePort()
    tlsLeader(port)
    const untrusted = connect(port, { token: TOKEN, tls: { ca: certificates().otherCa }, timeout: 60_000 })
    await expect(untrusted.open()).rejects.toMatchObject({
      code: 'LEVEL_DATABASE_NOT_OPEN',
      cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }
    })
  })

  it('authenticates with a client certificate under mutual TLS', async () => {
    const port = await freePort()
    const c = certificates()
    const db = new RaveLevel(tempDir(), {
      listen: {
        port,
        tls: { key: c.serverKey, cert: c.serverCert, ca: c.ca, clientCertificates: 'readonly' },
        tokens: [{ token: TOKEN, access: 'readwrite' }]
      }
    })
    defer(() => db.close())
    await db.put('a', '1')
    const certified = connect(port, { tls: { ca: c.ca, key: c.clientKey, cert: c.clientCert } })
    expect(await certified.get('a')).toBe('1')
    expect(certified.access).toBe('readonly')
    await expect(certified.put('a', '2')).rejects.toMatchObject({ code: 'LEVEL_READONLY' })
    // A token on top of the certificate grants what the token grants.
    const both = connect(port, { token: TOKEN, tls: { ca: c.ca, key: c.clientKey, cert: c.clientCert } })
    await both.put('a', '2')
    expect(both.access).toBe('readwrite')
    // Neither: refused.
    const neither = connect(port, { tls: { ca: c.ca }, timeout: 60_000 })
    await expect(neither.open()).rejects.toMatchObject({ cause: { code: 'LEVEL_AUTH_FAILED' } })
  })

  it('takes tcp:// on loopback only, and tls:// with a host name', async () => {
    expect(() => RaveLevel.connect('tcp://192.0.2.1:7443')).toThrow(/Refusing plain TCP/)
    expect(() => RaveLevel.connect('http://127.0.0.1:7443')).toThrow(/Unsupported scheme/)
    expect(() => RaveLevel.connect('tls://127.0.0.1')).toThrow(/No port/)
    const port = await freePort()
    const db = new RaveLevel(tempDir(), {
      listen: { port, insecure: true, tokens: [{ token: TOKEN, access: 'readwrite' }] }
    })
    defer(() => db.close())
    await db.open()
    const plain = RaveLevel.connect(`tcp://127.0.0.1:${port}`, { token: TOKEN })
    defer(() => plain.close())
    await plain.put('a', '1')
    expect(await db.get('a')).toBe('1')
    const tlsPort = await freePort()
    tlsLeader(tlsPort)
    const named = connect(tlsPort, remoteOptions(), 'localhost')
    expect(await named.get('a')).toBe(undefined)
  })
})

describe('the event loop', () => {
  it('lets a plain node process with a remote follower exit by itself once its operations settled', async () => {
    const port = await freePort()
    tlsLeader(port)
    const code = `
      const { RaveLevel } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)})
      const db = RaveLevel.connect('tls://127.0.0.1:${port}', ${JSON.stringify(remoteOptions())})
      await db.put('a', '1')
      console.log(await db.get('a'))
      const w = db.watch()
      await w.ready
      await w.close()
      for await (const [key] of db.iterator()) console.log(key)
    `
    // No close(): the process must exit by itself, as with classic-level.
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', code], {
      timeout: 20_000
    })
    expect(stdout).toBe('1\na\n')
  })
})

describe('the command line', () => {
  it('takes tls:// URLs, reads the token from --token-file or RAVE_LEVEL_TOKEN, never from an argument, and never prints it', async () => {
    const port = await freePort()
    const db = tlsLeader(port)
    await db.batch([
      { type: 'put', key: 'user:1', value: 'Ada' },
      { type: 'put', key: 'user:2', value: 'Grace' }
    ])
    const dir = tempDir()
    const ca = path.join(dir, 'ca.pem')
    fs.writeFileSync(ca, certificates().ca)
    const tokenFile = path.join(dir, 'token')
    fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 })
    const url = `tls://localhost:${port}`

    expect(await runCli(['ls', url, '--token-file', tokenFile, '--ca', ca])).toEqual({
      code: 0,
      stdout: 'user:1\tAda\nuser:2\tGrace\n',
      stderr: ''
    })
    const viaEnv = await runCli(['put', url, 'user:3', 'Linus', '--ca', ca], { env: { RAVE_LEVEL_TOKEN: TOKEN } })
    expect(viaEnv.code).toBe(0)
    expect(await db.get('user:3')).toBe('Linus')
    const status = await runCli(['status', url, '--ca', ca, '--json'], { env: { RAVE_LEVEL_TOKEN: READ_TOKEN } })
    expect(JSON.parse(status.stdout)).toMatchObject({
      location: url,
      endpoint: url,
      role: 'follower',
      leaderPid: process.pid
    })

    // A read-only token: the write fails with its code.
    const readOnly = await runCli(['del', url, 'user:1', '--ca', ca], { env: { RAVE_LEVEL_TOKEN: READ_TOKEN } })
    expect(readOnly.code).toBe(1)
    expect(readOnly.stderr).toMatch(/LEVEL_READONLY/)
    // There is no --token: a token in an argument would show in ps.
    const argument = await runCli(['ls', url, '--token', TOKEN, '--ca', ca])
    expect(argument.code).toBe(2)
    expect(argument.stderr).toMatch(/unknown option '--token'/)
    // A wrong token: refused with the code; neither token is printed.
    const wrong = 'wrong-token-0123456789abcdef'
    const refused = await runCli(['ls', url, '--ca', ca], { env: { RAVE_LEVEL_TOKEN: wrong } })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/LEVEL_DATABASE_NOT_OPEN: Database failed to open: Invalid token/)
    const missing = await runCli(['ls', url, '--ca', ca, '--token-file', path.join(dir, 'nope')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/Cannot read the token file/)
    for (const r of [refused, missing, argument, readOnly, status, viaEnv]) {
      expect(r.stdout + r.stderr).not.toContain(TOKEN)
      expect(r.stdout + r.stderr).not.toContain(READ_TOKEN)
      expect(r.stdout + r.stderr).not.toContain(wrong)
    }
  })
})
