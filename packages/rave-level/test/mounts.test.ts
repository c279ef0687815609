import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { Peer, cleanup, defer } from './helpers.js'

// One folder, many ways to reach it: every process that can open the folder must reach its
// leader, whatever path or mount namespace it uses (issue 20, point 4; design invariant 7).
// The locations are long on purpose: a short one keeps its socket inside the folder anyway.
//
// Everything lives under /var/tmp, not /tmp: one layout gives a process its own /tmp, which
// must not hide the database (a shared volume) from it. Nor this repository's files, which may
// well be under /tmp (a `mktemp -d` clone): those are bound back into the new /tmp at the same
// path (see ownTmp()).

afterEach(cleanup)

/**
 * Why mount namespaces cannot be used here, found by trying (`undefined` when they can): a new
 * private mount namespace with a tmpfs on /tmp and a bind mount, as the tests below need.
 */
function mountRefusal(): string | undefined {
  if (process.platform !== 'linux') return `mount namespaces are Linux only (this is ${process.platform})`
  const dir = fs.mkdtempSync('/var/tmp/rl-probe-')
  try {
    const probe = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t tmpfs tmpfs /tmp && mount --bind '${dir}' '${dir}'`
      ],
      { encoding: 'utf8' }
    )
    if (probe.error !== undefined) return `cannot run unshare: ${probe.error.message}`
    if (probe.status !== 0) return `unshare --mount or mount failed: ${probe.stderr.trim() || `exit ${probe.status}`}`
    return undefined
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const refusal = mountRefusal()
if (refusal !== undefined) console.log(`Skipping the mount namespace tests: ${refusal}`)

/** A fresh directory under /var/tmp, removed after the test. */
function varTmpDir(): string {
  const dir = fs.mkdtempSync('/var/tmp/rl-')
  defer(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A path under `root` of `bytes` ASCII bytes, in segments of at most 50. Nothing is created. */
function longPath(root: string, bytes: number): string {
  let location = root
  while (bytes - location.length > 51) location += '/' + 'd'.repeat(50)
  return location + '/' + 'e'.repeat(bytes - location.length - 1)
}

/**
 * A new private mount namespace in which `script` (shell) ran, kept alive until the test ends;
 * when it goes, so do its mounts. Returns the command that runs a program inside it.
 */
async function namespace(script: string): Promise<string[]> {
  const holder = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', `${script} && echo ready && exec sleep 1000000`],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  defer(async () => {
    if (holder.exitCode !== null || holder.signalCode !== null) return
    const exited = once(holder, 'exit')
    holder.kill('SIGKILL')
    await exited
  })
  const [line] = await Promise.race([once(holder.stdout, 'data'), once(holder, 'exit').then(() => [undefined])])
  if (String(line).trim() !== 'ready') throw new Error(`the mount namespace failed: ${holder.exitCode}`)
  return ['nsenter', `--mount=/proc/${holder.pid}/ns/mnt`, '--']
}

/** The root of this repository (the workspace, whose node_modules the packages resolve through). */
const repo = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '')

/**
 * The shell script for a namespace with its own, empty /tmp, as a container has: a tmpfs on
 * /tmp. If this repository is under /tmp, it is kept visible at its own path, so that peers
 * started in the namespace can load their code (the test must not depend on where the clone is).
 */
function ownTmpScript(): string {
  if (!repo.startsWith('/tmp/')) return 'mount -t tmpfs tmpfs /tmp'
  const hold = varTmpDir()
  return `mount --bind '${repo}' '${hold}' && mount -t tmpfs tmpfs /tmp && mkdir -p '${repo}' && mount --bind '${hold}' '${repo}'`
}

/** `put` on one peer is seen by the other, both ways, and the second is a follower. */
async function expectShared(leader: Peer, follower: Peer): Promise<void> {
  await leader.call('put', 'from-leader', String(leader.pid))
  expect(await leader.call('role')).toBe('leader')
  expect(await follower.call('get', 'from-leader')).toBe(String(leader.pid))
  expect(await follower.call('role')).toBe('follower')
  await follower.call('put', 'from-follower', String(follower.pid))
  expect(await leader.call('get', 'from-follower')).toBe(String(follower.pid))
}

describe.skipIf(refusal !== undefined)('one folder through different mounts', () => {
  it('a process with its own /tmp (another mount namespace) reaches the leader of a long location', async () => {
    const location = longPath(varTmpDir(), 120)
    const ownTmp = await namespace(ownTmpScript())

    const leader = new Peer(location)
    await leader.call('put', 'first', 'x') // leads before the other starts
    const follower = new Peer(location, { timeout: 5000 }, undefined, ownTmp)
    await expectShared(leader, follower)

    // And after a failover the other way round: the new leader is the one with its own /tmp.
    await leader.kill()
    await follower.call('put', 'after', 'failover')
    expect(await follower.call('role')).toBe('leader')
    const newcomer = new Peer(location, { timeout: 5000 })
    expect(await newcomer.call('get', 'after')).toBe('failover')
    expect(await newcomer.call('role')).toBe('follower')
  })

  it.each([
    ['long', 'short'],
    ['short', 'long']
  ])('a folder bind-mounted at a %s path and a %s path: the leader and a follower share it', async (first, second) => {
    const root = varTmpDir()
    const folder = path.join(root, 'data')
    const paths: Record<string, string> = { long: longPath(root, 120), short: path.join(root, 's') }
    for (const dir of [folder, ...Object.values(paths)]) fs.mkdirSync(dir, { recursive: true })
    const mounted = await namespace(
      `mount --bind '${folder}' '${paths.long}' && mount --bind '${folder}' '${paths.short}'`
    )

    const leader = new Peer(paths[first] as string, undefined, undefined, mounted)
    await leader.call('put', 'first', 'x')
    const follower = new Peer(paths[second] as string, { timeout: 5000 }, undefined, mounted)
    await expectShared(leader, follower)
  })
})
