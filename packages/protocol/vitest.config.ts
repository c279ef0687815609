import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Real processes, sockets and LevelDB on two shared cores: a test that spawns processes can
    // take several seconds under load. Timeouts bound a hang; they are not assertions.
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
