import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Real LevelDB and sockets on two cores; the fuzz test measures the heap after gc().
    testTimeout: 60_000,
    hookTimeout: 30_000,
    execArgv: ['--expose-gc']
  }
})
