// A benchmark process, driven by the harness (procs.mjs) over IPC: it opens a database as one of
// the subjects (classic-level, or ours or upstream as leader or follower), runs a timed workload
// from workloads.mjs on it and answers with the figures. Implementations are imported lazily, so
// that a fresh worker can time its own start-up, import included.
import { once } from 'node:events'
import { key } from './data.mjs'
import * as caching from './cache-workloads.mjs'
import * as watching from './watch-workloads.mjs'
import * as workloads from './workloads.mjs'

const { now } = workloads

const IMPLEMENTATIONS = {
  classic: async () => (await import('classic-level')).ClassicLevel,
  ours: async () => (await import('rave-level')).RaveLevel,
  upstream: async () => (await import('rave-level-1')).RaveLevel,
  // A remote follower: ours, through RaveLevel.connect(url, options).
  remote: async () => (await import('rave-level')).RaveLevel,
  // Ours with the follower cache on.
  cached: async () => {
    const { RaveLevel } = await import('rave-level')
    return class extends RaveLevel {
      constructor(location, options) {
        super(location, { ...options, cache: { maxBytes: 64 * 1024 * 1024 } })
      }
    }
  },
  // lmdb-js, behind the few methods the workloads call.
  lmdb: async () => {
    const { open } = await import('lmdb')
    return class {
      #db
      constructor(location) {
        this.#db = open({ path: location })
      }
      async open() {}
      get(key) {
        return this.#db.get(key)
      }
      put(key, value) {
        return this.#db.put(key, value)
      }
      async batch(ops) {
        await this.#db.batch(() => {
          for (const op of ops) this.#db.put(op.key, op.value)
        })
      }
      close() {
        return this.#db.close()
      }
    }
  }
}

let db
let elected = false // whether this process's RaveLevel was ever elected leader

/**
 * Open the database at `location` as `impl` (with `options`; for `remote`, `location` is the
 * URL); for ours and upstream, wait until it has `role`.
 */
async function open({ impl, location, role, options }) {
  const Database = await IMPLEMENTATIONS[impl]()
  db = impl === 'remote' ? Database.connect(location, options) : new Database(location, options)
  if (impl === 'classic' || impl === 'lmdb') {
    await db.open()
    return { pid: process.pid }
  }
  elected = false
  db.on('leader', () => (elected = true))
  if (role === 'leader') {
    if (!elected) await once(db, 'leader')
  } else {
    // The first operation connects a follower; a put, because upstream's get rejects a missing key.
    await db.put('~warm', '1')
  }
  checkRole(role)
  return { pid: process.pid }
}

// A figure means nothing if the subject was not what its name says: a follower that took over
// (because its leader died, or it opened first) measured a leader. Ours says its role; upstream
// only emits 'leader'.
function checkRole(role) {
  if (role === undefined) return
  const actual = db.role ?? (elected ? 'leader' : 'follower')
  if (actual !== role) throw new Error(`expected to be ${role}, but this process is ${actual}`)
}

/** Run a workload, then check that a follower is still a follower. */
const measured =
  (fn) =>
  async ({ role, ...args }) => {
    const result = await fn(db, args)
    checkRole(role)
    return result
  }

/**
 * `new Database(location)` to the first resolved get of a key that exists, in this fresh process
 * (the import is timed on its own). `role` is what the instance must have become.
 */
async function startup({ impl, location, role }) {
  const t0 = now()
  const Database = await IMPLEMENTATIONS[impl]()
  const t1 = now()
  db = new Database(location)
  elected = false
  if (impl === 'classic') await db.open()
  else db.on('leader', () => (elected = true))
  await db.get(key('i', 0))
  const t2 = now()
  if (impl !== 'classic') checkRole(role)
  return { import: Number(t1 - t0) / 1e6, open: Number(t2 - t1) / 1e6 }
}

/** SIGKILL the leader (pid), then get a key: ms from the kill to the resolved get. */
async function failover({ pid }) {
  await db.get('~warm')
  const t0 = now()
  process.kill(pid, 'SIGKILL')
  await db.get('~warm')
  return { ms: Number(now() - t0) / 1e6 }
}

async function close() {
  await db?.close()
  db = undefined
  return {}
}

const commands = {
  open,
  close,
  startup,
  failover,
  populate: async (args) => {
    await workloads.populate(db, args)
    // One fully compacted layout, the same for every copy of it that a subject reads.
    await db.compactRange('\x00', '\xff')
    return {}
  },
  warm: measured(workloads.warm),
  slice: measured(workloads.slice),
  warmIterate: measured(workloads.warmIterate),
  pass: measured(workloads.pass),
  write: measured(workloads.write),
  timedPuts: measured(watching.timedPuts),
  cacheFill: measured(caching.fill),
  cacheMixed: measured(caching.mixed),
  cacheWarm: measured(caching.warm),
  startWatching: (args) => watching.startWatching(db, args),
  stopWatching: watching.stopWatching,
  cpuBetween: workloads.cpuBetween,
  cpuNow: workloads.cpuNow,
  echo: workloads.echo,
  connect: workloads.connect,
  pingPong: workloads.pingPong,
  killToClose: workloads.killToClose
}

process.on('message', async ({ id, command, args }) => {
  try {
    const result = await commands[command](args)
    process.send({ id, result })
  } catch (err) {
    process.send({ id, error: err?.stack ?? String(err) })
  }
})
// The harness went away (finished, or crashed): nothing left to serve.
process.on('disconnect', () => process.exit(0))
process.send({ ready: true })
