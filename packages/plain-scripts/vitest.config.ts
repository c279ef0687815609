import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Each test runs plain node processes and waits for them to exit by themselves.
    testTimeout: 120_000,
    fileParallelism: false
  }
})
