/**
 * How the CLI reports a failure: one line on stderr, `rave-level: CODE: message`, or with
 * `--json` one JSON object `{"error":{"code","message"}}`. The code is the error's `LEVEL_*`
 * code (or a system code such as `EACCES`); a cause whose message adds something is appended.
 * @internal
 */
export function errorLine(err: unknown, json: boolean): string {
  const { code, message } = describe(err)
  if (json) return JSON.stringify({ error: code === undefined ? { message } : { code, message } })
  return `rave-level: ${code === undefined ? '' : `${code}: `}${message}`
}

/** A notice (not a failure) for stderr, such as "waiting for the lock". */
export function noticeLine(message: string, json: boolean): string {
  return json ? JSON.stringify({ notice: message }) : `rave-level: ${message}`
}

function describe(err: unknown): { code: string | undefined; message: string } {
  if (!(err instanceof Error)) return { code: undefined, message: String(err) }
  // "Database failed to open" because no leader answered: the reason is what a user acts on.
  const reason = err.cause as { code?: unknown } | undefined
  if ((err as { code?: unknown }).code === 'LEVEL_DATABASE_NOT_OPEN' && reason?.code === 'LEVEL_LOCKED') {
    return describe(reason)
  }
  const { code: maybe } = err as { code?: unknown }
  const code = typeof maybe === 'string' ? maybe : undefined
  let message = err.message
  const cause = err.cause
  if (cause instanceof Error && !message.includes(cause.message)) message += ` (${cause.message})`
  return { code, message: message.replace(/\s*\n\s*/g, ' ') }
}
