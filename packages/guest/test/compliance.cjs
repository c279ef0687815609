'use strict'

// Runs abstract-level 3's compliance suite against a ResumableGuest connected to a LevelHost
// (over memory-level 3) in the same process. No test is excluded. Used by
// compliance-retry.cjs and compliance-noretry.cjs, which tape runs in the `test` script.
const test = require('tape')
const suite = require('abstract-level/test')
const { pipeline } = require('node:stream')
const { MemoryLevel } = require('memory-level')
const { LevelHost } = require('@rave-level/host')
const { ResumableGuest } = require('../dist/index.cjs')

module.exports = function compliance(retry) {
  suite({
    test,
    factory(options) {
      const host = new LevelHost(new MemoryLevel())
      const db = new ResumableGuest({ ...options, retry })
      // Connect on every (re)open: closing the guest ends its connection.
      db.on('opening', () => {
        const stream = db.createRpcStream()
        pipeline(stream, host.createRpcStream(), stream, () => {})
      })
      return db
    }
  })
}
