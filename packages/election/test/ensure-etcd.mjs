// Runs before the election's tests (its `test` script): the lease tests need a real etcd server.
// With none on the PATH (nor $ETCD_BIN), install Debian's etcd-server with apt-get when this user
// may (root, or sudo without a password), so that `pnpm test` sets up what it runs on a fresh
// machine with only Node and npm (and apt) — as `.ci/run` has it. Otherwise say how to get it
// and fail: the lease tests never skip.
import { spawnSync } from 'node:child_process'
import { ETCD_BIN as bin, etcdProblem, INSTALL_HINT } from './fixtures/etcd-bin.mjs'

const runs = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  return r.error === undefined && r.status === 0
}

if (etcdProblem() !== undefined) {
  const root = process.getuid?.() === 0
  const sudo = root ? [] : ['sudo', '-n']
  if (process.platform === 'linux' && runs('apt-get', ['--version']) && (root || runs('sudo', ['-n', 'true']))) {
    console.log(
      "etcd is not installed: installing Debian's etcd-server with apt-get (the lease election tests run a real etcd)"
    )
    const apt = (...args) => {
      const [cmd, ...rest] = [...sudo, 'apt-get', ...args]
      const r = spawnSync(cmd, rest, {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
      })
      if (r.status !== 0) {
        // rave-level's tests run this too, and turbo runs both packages' tests at once: the other
        // apt-get may hold the lock. Wait for its etcd rather than fail.
        if (installedMeanwhile()) process.exit(0)
        console.error(`apt-get ${args.join(' ')} failed (exit ${r.status})`)
        process.exit(1)
      }
    }
    const installedMeanwhile = () => {
      const until = Date.now() + 180_000
      while (Date.now() < until) {
        if (etcdProblem() === undefined) return true
        spawnSync('sleep', ['2'])
      }
      return false
    }
    // As root, apt drops to its sandbox user `_apt` to fetch; on machines whose /dev/null is not
    // writable by others (seen here: mode 0644) that fails, and apt falls back to stale lists.
    apt('-o', 'APT::Sandbox::User=root', 'update', '-qq')
    apt('install', '-y', '-qq', '--no-install-recommends', 'etcd-server')
  }
  if (etcdProblem() !== undefined) {
    console.error(`The election's lease tests need a real etcd server, and "${bin}" cannot be run. ${INSTALL_HINT}`)
    process.exit(1)
  }
}
