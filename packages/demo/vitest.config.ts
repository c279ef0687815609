import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Real demo runs: worker processes, SIGKILLs, real LevelDB.
    testTimeout: 60_000,
    fileParallelism: false
  }
})
