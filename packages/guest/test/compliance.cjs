'use strict'

// Runs abstract-level 3's compliance suite against a ResumableGuest: connected to a LevelHost
// (over memory-level 3) in the same process, once with and once without retry; and forwarded
// to a local database, memory-level 3 (which the guest calls through its public API) and
// classic-level 3 (through its private API, see local-store.ts). No test is excluded. Used by
// the compliance-*.cjs scripts, which tape runs in the `test` script.
const test = require('tape')
const suite = require('abstract-level/test')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pipeline } = require('node:stream')
const { ClassicLevel } = require('classic-level')
const { MemoryLevel } = require('memory-level')
const { LevelHost } = require('@rave-level/host')
const { ResumableGuest } = require('../dist/index.cjs')

const factories = {
  host: (retry) => (options) => {
    const host = new LevelHost(new MemoryLevel())
    const db = new ResumableGuest({ ...options, retry })
    // Connect on every (re)open: closing the guest ends its connection.
    db.on('opening', () => {
      const stream = db.createRpcStream()
      pipeline(stream, host.createRpcStream(), stream, () => {})
    })
    return db
  },
  memory: () => (options) => {
    const db = new ResumableGuest(options)
    db.forward(new MemoryLevel())
    return db
  },
  classic: () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'guest-compliance-'))
    process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))
    let n = 0
    return (options) => {
      const local = new ClassicLevel(path.join(root, String(n++)))
      const db = new ResumableGuest(options)
      // The guest does not own (and never closes) the database it forwards to, which stays
      // open across the suite's close-and-reopen tests, as the leader's database does.
      db.forward(local)
      return db
    }
  }
}

module.exports = function compliance(kind, retry = true) {
  suite({ test, factory: factories[kind](retry) })
}
