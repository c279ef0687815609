import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built command, as the package's `bin` points to it. */
export const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js')

/** How a run of the CLI ended. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Run `rave-level ...args` in a child process with stdin closed (not a terminal), or fed with
 * `input`, and collect what it printed.
 */
export function runCli(
  args: string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = options.env === undefined ? process.env : { ...process.env, ...options.env }
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input)
  })
}

/**
 * Run `rave-level ...args` on a pseudo-terminal (util-linux `script`), so that stdin is a TTY.
 * `answer` is typed once `prompt` has appeared. Resolves with the exit code and everything the
 * terminal showed.
 */
export function runCliOnTty(
  args: string[],
  prompt: string,
  answer: string
): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, CLI, ...args].map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let screen = ''
    let answered = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      screen += chunk
      if (!answered && screen.includes(prompt)) {
        answered = true
        child.stdin.write(answer)
      }
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, screen }))
  })
}

/** A run of the CLI that goes on (`watch`): what it printed so far, and how it ended. */
export interface LiveCli {
  child: ReturnType<typeof spawn>
  stdout: string
  stderr: string
  /** Resolves once stderr (or stdout) holds `text`; rejects if the CLI exits first. */
  printed(text: string, on?: 'stdout' | 'stderr'): Promise<void>
  exit: Promise<CliResult>
}

/** Start `rave-level ...args` in a child process with stdin closed, and watch what it prints. */
export function startCli(args: string[]): LiveCli {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exit = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout: run.stdout, stderr: run.stderr }))
  })
  const run: LiveCli = {
    child,
    stdout: '',
    stderr: '',
    exit,
    async printed(text, on = 'stderr') {
      while (!run[on].includes(text)) {
        if (child.exitCode !== null) throw new Error(`exited before printing ${text}: ${run.stdout}${run.stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk))
  return run
}
