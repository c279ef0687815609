import ModuleError from 'module-error'

/** @internal */
export function notReopenable(): ModuleError {
  return new ModuleError('A RaveLevel database cannot be reopened after close()', {
    code: 'LEVEL_NOT_SUPPORTED'
  })
}
