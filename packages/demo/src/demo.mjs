// The rave-level demo: four worker processes share one LevelDB database in a temporary folder.
// Whoever holds the LevelDB lock leads; the others follow over a unix socket. Every 1.5 s the
// current leader is killed with SIGKILL (no chance to clean up) and a replacement worker is
// started. At the end every acknowledged write is checked against the database.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { RaveLevel } from 'rave-level'

const here = path.dirname(fileURLToPath(import.meta.url))
const WORKERS = 4
const KILLS = 3
const INTERVAL = 1500

const location = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rave-demo-')), 'db')
const started = Date.now()
const t = () => `${String(Date.now() - started).padStart(6)} ms`
const log = (line) => console.log(`[${t()}] ${line}`)

const acked = new Set()
const errors = []
const leaders = []
const kills = []
const workers = new Map()
let leader = null
let counter = 0

function spawn() {
  const name = `worker-${++counter}`
  const child = fork(path.join(here, 'worker.mjs'), [location, name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  workers.set(name, child)
  child.on('message', (msg) => {
    if (msg.type === 'ack') acked.add(msg.key)
    else if (msg.type === 'leader') {
      leader = { name: msg.name, pid: msg.pid, child }
      leaders.push({ name: msg.name, pid: msg.pid, at: Date.now() })
      const kill = kills.at(-1)
      const after = kill && !kill.next ? ` (${Date.now() - kill.at} ms after the kill)` : ''
      if (kill && !kill.next) kill.next = msg.name
      log(`${msg.name} (pid ${msg.pid}) is the leader${after}`)
    } else if (msg.type === 'stalled') log(`${msg.name}: lock held but no leader answers (${msg.info.elapsed} ms)`)
    else if (msg.type === 'error') {
      errors.push(msg)
      log(`${msg.name}: ${msg.key} failed: ${msg.code} ${msg.message}`)
    }
  })
  child.on('exit', () => workers.delete(name))
  log(`started ${name} (pid ${child.pid})`)
  return child
}

log(`database: ${location}`)
for (let i = 0; i < WORKERS; i++) spawn()

for (let k = 0; k < KILLS; k++) {
  await new Promise((resolve) => setTimeout(resolve, INTERVAL))
  while (leader === null) await new Promise((resolve) => setTimeout(resolve, 10))
  const victim = leader
  leader = null
  log(`SIGKILL ${victim.name} (pid ${victim.pid}), the leader, with ${acked.size} writes acknowledged so far`)
  kills.push({ name: victim.name, at: Date.now() })
  victim.child.kill('SIGKILL')
  await once(victim.child, 'exit')
  spawn()
}

await new Promise((resolve) => setTimeout(resolve, INTERVAL))
log('stopping workers')
const exits = [...workers.values()].map((child) => once(child, 'exit'))
for (const child of workers.values()) child.send('stop')
await Promise.all(exits)

// Verify with a fresh instance: it becomes the leader, since every worker is gone.
const db = new RaveLevel(location, { valueEncoding: 'json' })
let present = 0
const missing = []
for (const key of acked) {
  if ((await db.get(key)) !== undefined) present++
  else missing.push(key)
}
let total = 0
for await (const _ of db.keys()) total++
await db.close()

console.log('\nSummary')
console.log(`  workers started:        ${counter}`)
console.log(`  leaders elected:        ${leaders.length} (${leaders.map((l) => l.name).join(' → ')})`)
console.log(`  leaders killed:         ${kills.length} with SIGKILL`)
for (const kill of kills) console.log(`    ${kill.name} killed, ${kill.next ?? 'nobody'} took over`)
console.log(`  acknowledged writes:    ${acked.size}`)
console.log(`  verified present:       ${present} of ${acked.size}${missing.length ? ` (missing: ${missing.slice(0, 5).join(', ')})` : ''}`)
console.log(`  keys in the database:   ${total}`)
console.log(`  failed operations:      ${errors.length}`)
fs.rmSync(path.dirname(location), { recursive: true, force: true })

const ok = missing.length === 0 && errors.length === 0 && leaders.length === KILLS + 1 && acked.size > 0
console.log(ok ? '\nOK: every acknowledged write survived every leader kill.' : '\nFAILED')
process.exit(ok ? 0 : 1)
