// The published surface, as a user's TypeScript sees it: typecheck fails if an event name or
// payload loosens (a `@ts-expect-error` below is not an error), and the entry ships no plumbing.
import { expect, expectTypeOf, it } from 'vitest'
import * as guest from '../dist/index.js'
import { GuestLevel, ResumableGuest, type UnresponsiveInfo } from '../dist/index.js'

it('events are typed with their payloads, and unknown names do not type-check', async () => {
  const db = new ResumableGuest()
  db.on('stalled', (info) => {
    expectTypeOf(info).toEqualTypeOf<UnresponsiveInfo>()
  })
  db.on('flush', () => {})
  // @ts-expect-error: there is no such event
  db.on('stalld', () => {})
  await db.close()
})

it('the main entry exports no dispatcher, and GuestLevel takes options only', async () => {
  expect(Object.keys(guest).sort()).toEqual([
    'ABORTED',
    'CONNECTION_LOST',
    'DATABASE_NOT_OPEN',
    'FRAME_TOO_LARGE',
    'GuestLevel',
    'GuestSublevel',
    'ResumableGuest',
    'TIMEOUT',
    'codes'
  ])
  // @ts-expect-error: the constructor that takes a dispatcher is @rave-level/guest/internal's
  const db = new GuestLevel(undefined, undefined)
  await db.close()
})
