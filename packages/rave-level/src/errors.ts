import ModuleError from 'module-error'

/** @internal */
export function notReopenable(): ModuleError {
  return new ModuleError('A RaveLevel database cannot be reopened after close()', {
    code: 'LEVEL_NOT_SUPPORTED'
  })
}

/**
 * Why no leader could be reached, for operations that waited `timeout`: the lock is held by
 * something that does not serve (`LEVEL_LOCKED`, the election's own error), or the database
 * could not be opened at all (`LEVEL_DATABASE_NOT_OPEN`, with classic-level's error as cause).
 * @internal
 */
export function unreachable(timeout: ModuleError, openFailure: Error | undefined): ModuleError {
  if (openFailure === undefined) return timeout
  return new ModuleError(`The database could not be opened: ${openFailure.message}`, {
    code: 'LEVEL_DATABASE_NOT_OPEN',
    cause: openFailure
  })
}
