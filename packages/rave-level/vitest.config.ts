import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Multi-process tests: two cores, real LevelDB, real sockets.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: false
  }
})
