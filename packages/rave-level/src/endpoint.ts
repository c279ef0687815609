import fs from 'node:fs/promises'
import type { EndpointResolver } from '@rave-level/election'
import { publishEndpoint, readEndpoint, socketPath } from '@rave-level/socket-path'

/**
 * Where the leader of `location` listens and how followers find it: the election's `endpoint`
 * for a `RaveLevel`. This module owns the choice of socket path (falling back to the private
 * directory when something else sits at the usual one) and keeping the endpoint record current.
 */
export function leaderEndpoint(location: string): EndpointResolver {
  let fallback = false
  return {
    connect: () => readEndpoint(location),
    listen: async () => {
      const endpoint = socketPath(location, { hashed: fallback })
      if (!fallback && (await occupied(endpoint))) {
        // Something that is not a socket (a directory, a file) sits where the leader would
        // listen: never remove it (it is not ours); listen in the private directory
        // instead, which followers find through the endpoint record.
        fallback = true
        return socketPath(location, { hashed: true })
      }
      return endpoint
    },
    // Followers read the record first, so it must always name the current endpoint.
    published: (endpoint) => publishEndpoint(location, endpoint)
  }
}

/** Whether something other than a socket (or nothing) is at `endpoint`. */
async function occupied(endpoint: string): Promise<boolean> {
  try {
    return !(await fs.lstat(endpoint)).isSocket()
  } catch {
    return false
  }
}
