// The demo as a user runs it: real worker processes, real SIGKILLs, a real LevelDB database.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const ESC = String.fromCharCode(27)
const DEMO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'demo.mjs')

interface Run {
  child: ChildProcess
  stdout: string
  stderr: string
  exit: Promise<number | null>
}

/** Start the demo without a terminal, in its own process group (as a shell job would be). */
function start(args: string[]): Run {
  const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('close', (code) => resolve(code)))
  }
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (run.stdout += text))
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (run.stderr += text))
  return run
}

/** Resolve once `run` has printed a line that matches `pattern`. */
async function printed(run: Run, pattern: RegExp): Promise<RegExpMatchArray> {
  for (;;) {
    const match = run.stdout.match(pattern)
    if (match) return match
    if (run.child.exitCode !== null)
      throw new Error(`the demo exited before printing ${pattern}:\n${run.stdout}${run.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The temporary folder a run announced, and the pids of the workers it started. */
function traces(stdout: string) {
  const database = stdout.match(/^database (\S+) \(temporary/m)?.[1]
  const pids = [...stdout.matchAll(/started w\d+ \(pid (\d+)\)/g)].map((m) => Number(m[1]))
  return { folder: database === undefined ? undefined : path.dirname(database), pids }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Every worker has exited and the temporary folder is gone. */
async function expectCleanedUp(stdout: string) {
  const { folder, pids } = traces(stdout)
  expect(folder).toBeDefined()
  expect(fs.existsSync(folder as string)).toBe(false)
  expect(pids.length).toBeGreaterThan(0)
  // Workers exit right after the coordinator has seen them go; allow the kernel a moment.
  for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  expect(pids.filter(alive)).toEqual([])
}

describe('pnpm demo', () => {
  it('a short run with SIGKILLs passes every check and says what it verified', async () => {
    const run = start(['--workers', '3', '--duration', '3', '--kill-every', '1'])
    const code = await run.exit
    expect({ code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
    expect(run.stdout).toMatch(/^ {2}✓ all [\d,]+ acknowledged orders are in the database, with the values written$/m)
    expect(run.stdout).toMatch(/^ {2}✓ every read returned what was written/m)
    // Every worker also watched every worker's orders across processes: in order, a gap at failovers.
    expect(run.stdout).toMatch(
      /^ {2}✓ every watch saw each worker's orders in order \([\d,]+ changes, \d+ gaps? at failovers\)$/m
    )
    expect(run.stdout).toMatch(/^ {2}✓ no operation failed$/m)
    expect(run.stdout).toMatch(/^ {2}✓ 2 leaders killed with SIGKILL \(2 planned\), each followed by a new one$/m)
    expect(run.stdout).toMatch(/^ {2}✓ no worker died other than by the planned SIGKILLs$/m)
    expect(run.stdout).not.toContain('✗')
    // What `rave-level count` would find, and why it may be more than was acknowledged.
    const acknowledged = Number(run.stdout.match(/^ {2}orders acknowledged +([\d,]+)/m)?.[1]?.replaceAll(',', ''))
    const stored = run.stdout.match(/^ {2}orders in the database +([\d,]+)(.*)$/m)
    expect(stored).not.toBeNull()
    const more = Number(stored?.[1]?.replaceAll(',', '')) - acknowledged
    expect(more).toBeGreaterThanOrEqual(0)
    if (more > 0)
      expect(stored?.[2]).toMatch(
        /more than acknowledged: written by leaders killed before their acknowledgement was counted/
      )
    expect(run.stdout).toMatch(/\nOK: every acknowledged order survived 2 SIGKILLs of the leader\.\n$/)
    await expectCleanedUp(run.stdout)
  })

  for (const [signal, code, what] of [
    ['SIGINT', 130, 'Ctrl-C'],
    ['SIGHUP', 129, 'closing the terminal']
  ] as const) {
    it(`${what} (${signal}) stops the workers, removes the temporary folder and exits ${code}`, async () => {
      const run = start(['--duration', '30'])
      await printed(run, /leads/)
      // A terminal signals the whole process group: the workers get it too.
      process.kill(-(run.child.pid as number), signal)
      expect(await run.exit).toBe(code)
      expect(run.stdout).toContain(
        `Interrupted (${signal}): workers stopped, temporary database removed, nothing verified.`
      )
      await expectCleanedUp(run.stdout)
    })
  }

  it('a reader that goes away (| head -3) ends the run quietly, with the folder removed', async () => {
    const run = start(['--duration', '30'])
    await printed(run, /^(?:.*\n){3}/)
    const head = run.stdout
    run.child.stdout?.destroy()
    expect(await run.exit).toBe(0)
    expect(run.stderr).toBe('')
    await expectCleanedUp(head)
  })

  it('workers exit by themselves when the coordinator dies without a word (SIGKILL)', async () => {
    const run = start(['--duration', '30'])
    await printed(run, /leads/)
    run.child.kill('SIGKILL')
    await run.exit
    const { folder, pids } = traces(run.stdout)
    try {
      for (let i = 0; i < 250 && pids.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(pids.filter(alive)).toEqual([])
    } finally {
      for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL')
      // Nobody was left to remove it.
      fs.rmSync(folder as string, { recursive: true, force: true })
    }
  })

  it('on a terminal, the live view redraws in place and the run passes', async () => {
    const command = `stty cols 100 rows 40; '${process.execPath}' '${DEMO}' --workers 3 --duration 2 --kill-every 1`
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let screen = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => (screen += text))
    const code = await new Promise((resolve) => child.on('close', resolve))
    expect(code).toBe(0)
    expect(screen).toMatch(new RegExp(`${ESC}\\[\\d+F`)) // moved back up to redraw
    expect(screen).toContain('★ leader')
    expect(screen).toContain('OK: every acknowledged order survived 1 SIGKILL of the leader.')
    expect(screen).toContain(`${ESC}[?25h`) // the cursor is shown again
  })

  it('with --location, keeps the database and hints at a command that works from the checkout', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'rld-'))
    try {
      const location = path.join(parent, 'orders-db')
      const run = start(['--workers', '2', '--duration', '1', '--kill-every', '0', '--location', location])
      expect(await run.exit).toBe(0)
      const hint = run.stdout.match(/Look into it from the checkout: npx -y pnpm@12\.4\.2 (rave-level .*)$/m)?.[1]
      expect(hint).toBe(`rave-level ls ${location} --limit 5`)
      // `pnpm rave-level` runs the root package.json's script of that name, from the root:
      // run that script as pnpm would, with the hinted arguments.
      const root = path.join(path.dirname(DEMO), '..', '..', '..')
      const script = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts['rave-level']
      const [command, ...args] = `${script} ${hint?.slice('rave-level '.length)}`.split(' ')
      const listed = await promisify(execFile)(command === 'node' ? process.execPath : (command as string), args, {
        cwd: root
      })
      expect(listed.stdout.trim().split('\n')).toHaveLength(5)
    } finally {
      fs.rmSync(parent, { recursive: true, force: true })
    }
  })

  it('refuses bad flags with exit code 2 and explains --help', async () => {
    const bad = start(['--workers', '0'])
    expect(await bad.exit).toBe(2)
    expect(bad.stderr).toMatch(/^demo: option '--workers <n>' argument '0' is invalid/)
    const help = start(['--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout).toContain('--kill-every <seconds>')
  })
})
