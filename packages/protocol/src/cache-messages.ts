import { schema } from './codec.js'

/*
 * The `cache` extension (see the README): a guest may keep what the host answers to its reads,
 * under a lease, and the host invalidates what it may keep before any write of those keys
 * commits. Field tables and message types of its four messages, and the `cache` field that an
 * answer to a read carries when its guest may keep it.
 */

/** Field tables of the `cache` extension's messages, by name. */
export const cacheSchemas = {
  CacheLease: schema('CacheLease', [
    { no: 1, name: 'id', type: 'uint', required: true },
    { no: 2, name: 'lease', type: 'uint', required: true }
  ]),
  CacheGrant: schema('CacheGrant', [
    { no: 1, name: 'id', type: 'uint', required: true },
    { no: 2, name: 'lease', type: 'uint', required: true }
  ]),
  CacheInvalidate: schema('CacheInvalidate', [
    { no: 1, name: 'id', type: 'uint', required: true },
    { no: 2, name: 'keys', type: 'bytes', repeated: true },
    { no: 3, name: 'all', type: 'bool' }
  ]),
  CacheAck: schema('CacheAck', [{ no: 1, name: 'id', type: 'uint', required: true }])
}

/**
 * The field of a `Callback` or `GetManyCallback` (number 14, which a many-level 2 guest never
 * receives) that says the guest may keep the answer: the host noted that this connection may
 * hold those keys, and will invalidate them before any write of them commits.
 */
export const cacheField = { no: 14, name: 'cache', type: 'bool' } as const

/**
 * `CacheLease` (guest → host): ask for (or renew) a lease of `lease` ms on what this connection
 * keeps. Answered by a `CacheGrant` with the same `id`. The guest's lease starts when it sent
 * this (by its own clock); the host's view of it when it sent the grant, which is later.
 */
export interface CacheLeaseMessage {
  id: number
  lease: number
}

/** `CacheGrant` (host → guest): the lease asked for with `id`, of `lease` ms (at most what was asked). */
export interface CacheGrantMessage {
  id: number
  lease: number
}

/**
 * `CacheInvalidate` (host → guest): drop `keys` (or, with `all`, everything) and answer with a
 * `CacheAck` of the same `id`. A write of those keys waits for that answer, or for the lease
 * to run out, before it commits.
 */
export interface CacheInvalidateMessage {
  id: number
  keys: Uint8Array[]
  all?: boolean | undefined
}

/** `CacheAck` (guest → host): the keys of invalidation `id` were dropped. */
export interface CacheAckMessage {
  id: number
}
