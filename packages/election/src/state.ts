import type net from 'node:net'
import type { EndpointServer } from './endpoint-server.js'
import { type ElectionFault, electionFault } from './errors.js'

/**
 * What an election is doing, each state with the resources it owns: the electing state owns
 * the resource from the moment `acquire()` resolves until it is handed to the leader state (or
 * released), and the server from the moment it is created. {@link teardown} frees exactly what
 * a state owns.
 */
export type State<R> =
  | { readonly role: 'idle' }
  | {
      readonly role: 'connecting'
      readonly delay: number
      timer: NodeJS.Timeout | undefined
      socket: net.Socket | undefined
    }
  | { readonly role: 'follower'; readonly socket: net.Socket; readonly since: number }
  | {
      readonly role: 'electing'
      readonly controller: AbortController
      acquiring: Promise<R | undefined> | undefined
      resource: R | undefined
      server: EndpointServer | undefined
      /** Listening and publishing the endpoint, once the lock is taken (never rejects). */
      serving: Promise<unknown> | undefined
    }
  | { readonly role: 'leader'; readonly resource: R; readonly server: EndpointServer }
  | { readonly role: 'closing' }
  | { readonly role: 'closed' }

export type Connecting<R> = Extract<State<R>, { role: 'connecting' }>
export type Electing<R> = Extract<State<R>, { role: 'electing' }>

export function connecting<R>(delay: number): State<R> {
  return { role: 'connecting', delay, timer: undefined, socket: undefined }
}

export function electing<R>(): State<R> {
  return {
    role: 'electing',
    controller: new AbortController(),
    acquiring: undefined,
    resource: undefined,
    server: undefined,
    serving: undefined
  }
}

/**
 * Let a connecting state's retry timer and connect attempt hold the event loop (`ref`), or not.
 * Other states own nothing the election may ref: the follower's socket and the leader's server
 * are the user's.
 */
export function refAttempt<R>(state: State<R>, ref: boolean): void {
  if (state.role !== 'connecting') return
  if (ref) {
    state.timer?.ref()
    state.socket?.ref()
  } else {
    state.timer?.unref()
    state.socket?.unref()
  }
}

/**
 * Free what `state` owns. Never rejects: a failed release comes back as an election fault
 * (stage `'release'`).
 */
export async function teardown<R>(
  state: State<R>,
  release: (resource: R) => Promise<void>
): Promise<ElectionFault | undefined> {
  switch (state.role) {
    case 'connecting':
      clearTimeout(state.timer)
      state.socket?.destroy()
      return undefined
    case 'follower':
      state.socket.destroy()
      return undefined
    case 'electing': {
      state.controller.abort()
      // If acquire() is still pending, its continuation will see a new epoch and walk away, so
      // the resource it may still deliver is ours to release here.
      const resource = state.acquiring === undefined ? state.resource : await state.acquiring.catch(() => undefined)
      // Publishing the endpoint may be under way: it stops at its next step now that the epoch
      // moved on, but a record it is writing must land while we still hold the lock, never after
      // the release (it could overwrite the next leader's), nor after close() resolved.
      await state.serving
      await state.server?.close()
      return resource === undefined ? undefined : releasing(resource, release)
    }
    case 'leader':
      // Cut the followers before releasing, so that serve() handlers stop using the resource;
      // and remove the endpoint while the lock is still ours, so that it cannot be the next
      // leader's endpoint we remove.
      await state.server.close()
      return releasing(state.resource, release)
    default:
      return undefined
  }
}

async function releasing<R>(resource: R, release: (resource: R) => Promise<void>): Promise<ElectionFault | undefined> {
  try {
    await release(resource)
    return undefined
  } catch (err) {
    return electionFault('Failed to release the lock', 'release', err)
  }
}
