'use strict'

// The abstract-level 3 compliance suite against RaveLevel, as leader or as follower:
//   node test/compliance.cjs leader|follower [noretry|cached]
// (noretry: with retry: false, which fails operations on a lost leader instead of replaying them;
// cached: with the follower cache on, so that reads are answered from it wherever they can be)
// Tests that contradict RaveLevel's documented contract are excluded by name (see README.md).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const tape = require('tape')
const suite = require('abstract-level/test')
const common = require('abstract-level/test/common')
const { RaveLevel } = require('../dist/index.cjs')

const role = process.argv[2]
const variant = process.argv[3]
const retry = variant !== 'noretry'
if (
  (role !== 'leader' && role !== 'follower') ||
  (variant !== undefined && variant !== 'noretry' && variant !== 'cached')
) {
  throw new Error('Usage: compliance.cjs leader|follower [noretry|cached]')
}
const cache = variant === 'cached' ? { cache: { maxBytes: 1024 * 1024 } } : {}
const open = (loc, options) => new RaveLevel(loc, retry ? { ...options, ...cache } : { ...options, retry: false })

// A RaveLevel cannot be reopened after close() (LEVEL_NOT_SUPPORTED, per the original README),
// and it opens itself with createIfMissing semantics only. These tests close and reopen a db.
// Entries are exact names, or /regular expressions/ for families of generated names.
const excluded = new Map(require('./compliance-excluded.json'))
const patterns = [...excluded.keys()].filter((k) => k.startsWith('/')).map((k) => new RegExp(k.slice(1, -1)))
const isExcluded = (name) => excluded.has(name) || patterns.some((re) => re.test(name))

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rlc-'))
let n = 0
const location = () => path.join(root, String(n++))

// Followers need a leader that is surely elected first. Leaders are created ahead of time, in
// this process but as separate instances, so each factory call can take one that already leads.
const pool = []
// Before tape starts, the suite calls the factory only to read db.supports.
let started = false
let replenishing = null
function replenish() {
  if (replenishing === null) {
    replenishing = fill().finally(() => {
      replenishing = null
    })
  }
  return replenishing
}
async function fill() {
  while (pool.length < 16) {
    const loc = location()
    const leader = new RaveLevel(loc)
    await new Promise((resolve) => leader.once('leader', resolve))
    pool.push({ loc, leader })
  }
}

let followers = 0
let notFollowers = 0

function factory(options) {
  if (role === 'leader') return open(location(), options)
  const entry = pool.shift()
  if (entry === undefined) {
    if (started) throw new Error('Leader pool empty: a test created more than 16 databases')
    // Only to read the manifest, before any test runs: no check on its role.
    const loc = location()
    const leader = new RaveLevel(loc)
    const db = open(loc, options)
    db.once('closed', () => leader.close())
    return db
  }
  replenish()
  const db = open(entry.loc, options)
  // Taking over once the pooled leader closed is legitimate; while it is open, it is a bug.
  db.once('leader', () => {
    if (entry.leader.status === 'open') notFollowers++
  })
  db.once('closed', () => entry.leader.close())
  followers++
  return db
}

function test(name, ...rest) {
  if (isExcluded(name)) return
  // Refill the leader pool between tests: tape runs tests one by one, in order.
  if (role === 'follower') {
    tape(`(leader pool for: ${name})`, () => {
      started = true
      return replenish()
    })
  }
  tape(name, ...rest)
}

console.log(`# RaveLevel as ${role}, retry ${retry ? 'on' : 'off'}; excluded: ${[...excluded.keys()].join('; ')}`)
suite({ test, factory })
// db.supports.getSync is false in both roles, since a manifest cannot change with the role, so
// the suite skips getSync(); a leader has it (classic-level's): run those tests too.
if (role === 'leader') require('abstract-level/test/get-sync-test').all(test, common({ test, factory }))

tape('every follower followed', (t) => {
  if (role === 'follower') {
    t.ok(followers > 0, `${followers} followers created`)
    t.is(notFollowers, 0, 'none became leader while its leader was alive')
  } else {
    t.pass('leader run')
  }
  t.end()
})

tape.onFinish(() => {
  for (const { leader } of pool) leader.close()
  fs.rmSync(root, { recursive: true, force: true })
})
