/**
 * A mistake on the command line that only the user can fix (an invalid hex key, flags that
 * contradict each other, `clear` without `--yes` where nobody can be asked). The CLI prints it
 * like commander's own usage errors and exits with code 2.
 * @internal
 */
export class UsageError extends Error {
  override name = 'UsageError'
}
