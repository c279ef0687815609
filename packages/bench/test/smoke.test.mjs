// A smoke run of the benchmark harness: every section, tiny sizes, one round (two failovers).
// It checks that each section yields a finite figure for each of its subjects and that the
// report prints; it asserts nothing about the figures themselves (timing belongs in
// `pnpm bench`). About 30 s on an idle 2-core machine; the timeouts leave room for a busy one.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { promisify } from 'node:util'
import { tempDir } from '@rave-level/test-utils'
import { afterAll, expect, test } from 'vitest'
import { SECTIONS } from '../src/config.mjs'

const dir = tempDir('rlb-smoke-')
afterAll(() => dir.remove())

const numbers = (value) =>
  typeof value === 'number'
    ? [value]
    : typeof value === 'object' && value !== null
      ? Object.values(value).flatMap(numbers)
      : []

test('every section of the harness yields figures', async () => {
  const json = `${dir.path}/results.json`
  const { stdout } = await promisify(execFile)(process.execPath, ['src/run.mjs', '--smoke', '--json', json], {
    cwd: new URL('..', import.meta.url),
    timeout: 400_000
  })
  const { results, targets } = JSON.parse(fs.readFileSync(json, 'utf8'))

  // Every section that measures ('bounds' is measured within sequential and iterate).
  expect(Object.keys(results)).toEqual(SECTIONS.filter((name) => name !== 'bounds'))
  for (const [section, samples] of Object.entries(results)) {
    for (const [subject, rounds] of Object.entries(samples)) {
      expect(rounds.length, `${section}: ${subject}`).toBeGreaterThan(0)
      // A change may reach a watcher before the writer hears its put acknowledged: ack -> change
      // can be negative, the one figure that may.
      const figures = numbers(rounds.map(({ ackP50: _a, ackP99: _b, ...rest }) => rest))
      expect(figures.length, `${section}: ${subject}`).toBeGreaterThan(0)
      // Not > 0: on a busy machine, a writer's short interval may see no put complete.
      for (const x of figures) expect(Number.isFinite(x) && x >= 0, `${section}: ${subject}: ${x}`).toBe(true)
    }
  }
  // The remote section times a bare leader over each transport, and the CPU of both processes of every subject.
  for (const subject of ['unix bare', 'TCP bare', 'TLS bare'])
    expect(Object.keys(results.remote[subject][0]).sort(), subject).toEqual(
      ['get', 'put'].flatMap((op) => [
        `sequential ${op}`,
        `sequential ${op}: cpu client`,
        `sequential ${op}: cpu server`
      ])
    )
  for (const subject of ['unix follower', 'TCP follower', 'TLS follower'])
    for (const process of ['leader', 'follower'])
      expect(results.remote[subject][0][`pipelined get: cpu ${process}`], subject).toBeGreaterThan(0)
  expect(targets.map((t) => t.section)).toEqual(
    expect.arrayContaining(['sequential', 'iterate', 'writers', 'failover', 'watch', 'remote', 'cached'])
  )
  for (const title of [
    'bounds of this machine',
    'sequential ops/s',
    'pipelined ops/s',
    'iterate entries/s',
    'writers:',
    'failover:',
    'start-up',
    'watch: from a put',
    'watch: pipelined',
    'watchers (every vCPU busy) / none',
    'watch: CPU per put',
    'vCPUs busy, of',
    'remote followers, ops/s',
    'remote followers, ratios',
    'remote followers, the bare leaders in the same slices',
    'remote followers, CPU µs per operation of each process',
    'remote followers, CPU µs per operation of the bare leaders',
    'cached: gets/s',
    'cached: ms per put',
    'cached: CPU µs of the leader per operation',
    'targets'
  ]) {
    expect(stdout).toContain(title)
  }
}, 420_000)
