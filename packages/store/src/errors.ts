import ModuleError from 'module-error'

// The one place this package makes its errors: every other file calls these. The codes are
// listed, with what to do about each, in docs/errors.md at the root of the repository.

/** @internal `LEVEL_NOT_SUPPORTED`: the database has no such maintenance method. */
export function maintenanceNotSupported(method: string): ModuleError {
  return new ModuleError(`The database does not support ${method}()`, { code: 'LEVEL_NOT_SUPPORTED' })
}
