// The public types: events are typed (checked by `tsc` in `pnpm typecheck`, which fails if an
// `@ts-expect-error` below is not an error), and the instance carries no guest plumbing.
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { RaveLevel, type RaveLevelStalledInfo } from '../dist/index.js'
import { cleanup, defer, tempDir } from './helpers.js'

afterEach(cleanup)

describe('types', () => {
  it('type the events and their payloads', async () => {
    const db = new RaveLevel(tempDir())
    defer(() => db.close())
    // @ts-expect-error: there is no such event
    db.on('leaderr', () => {})
    db.on('stalled', (info) => {
      expectTypeOf(info).toEqualTypeOf<RaveLevelStalledInfo>()
      if (info.reason === 'locked') expectTypeOf(info.endpoint).toEqualTypeOf<string>()
      // @ts-expect-error: an unresponsive leader has no endpoint in the payload
      else void info.endpoint
    })
    const leader = new Promise<void>((resolve) => db.once('leader', resolve))
    await db.open()
    await leader
  })

  it("type the 'error' event's payload with its code, so that a listener can branch on it", () => {
    const db = new RaveLevel(tempDir())
    defer(() => db.close())
    db.on('error', (err) => {
      expectTypeOf(err.code).toEqualTypeOf<'LEVEL_ELECTION_FAULT' | 'LEVEL_DATABASE_NOT_OPEN'>()
      // Branching on the code narrows the payload: only an election fault has a stage.
      if (err.code === 'LEVEL_ELECTION_FAULT') {
        expectTypeOf(err.stage).toEqualTypeOf<'acquire' | 'listen' | 'release' | 'serve' | 'follow'>()
      }
      expectTypeOf(err.cause).toEqualTypeOf<Error | undefined>()
      expectTypeOf(err).toExtend<Error>()
    })
  })

  it('expose no guest plumbing', () => {
    const db = new RaveLevel(tempDir())
    defer(() => db.close())
    for (const method of ['createRpcStream', 'connect', 'forward', 'unforward', 'rejectWaiting', 'isFlushed']) {
      expect(method in db).toBe(false)
    }
    // @ts-expect-error: not part of the type either
    void db.forward
  })
})
