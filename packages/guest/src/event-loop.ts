/**
 * @packageDocumentation
 * The one rule for the event loop (design invariant 8), kept here and nowhere else:
 *
 * **While a caller waits on anything it started (`open()`, an operation, `close()`, an
 * iterator's `next()`, a watch's `next()`), the event loop is held; when nothing is pending,
 * nothing holds it**, in every role and during failovers, as with `classic-level` used directly.
 *
 * Every handle the project creates (follower and leader sockets, servers, retry and watchdog
 * timers) is unref'd and holds nothing: whether a process stays alive is decided by the holds
 * taken here alone. One ref'd timer per thread does the holding while at least one hold is
 * taken, so a wait that depends on an unref'd handle (a server that closes once its connections
 * end, a grace timer, a socket that delivers an answer) can never let the process exit before
 * the caller's promise settles, and nothing forgotten on an unref'd handle can keep it alive.
 *
 * Only a plain `node` process shows this: a test runner keeps the loop alive by itself
 * (`packages/plain-scripts` runs scripts as users write them for that reason).
 */

let holds = 0
let timer: NodeJS.Timeout | undefined

/**
 * Hold the event loop until the returned function is called (once; later calls do nothing).
 * Holds are counted: the loop is free again when every hold taken was let go.
 */
export function holdEventLoop(): () => void {
  if (holds++ === 0) {
    // Created once per thread and kept; ref'd only while held. Its callback never runs in
    // practice (a process that waits ~12 days on one promise wakes up once, harmlessly).
    timer ??= setInterval(noop, 2 ** 30)
    timer.ref()
  }
  let held = true
  return () => {
    if (!held) return
    held = false
    if (--holds === 0) timer?.unref()
  }
}

/** Hold the event loop until `promise` settles; returns `promise`. */
export function holdUntil<T>(promise: Promise<T>): Promise<T> {
  const release = holdEventLoop()
  promise.then(release, release)
  return promise
}

function noop(): void {}
