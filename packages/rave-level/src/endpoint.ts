import fs from 'node:fs/promises'
import type { EndpointResolver } from '@rave-level/election'
import { type Endpoint, openEndpoint, publishEndpoint, readEndpoint } from '@rave-level/socket-path'

/**
 * Where the leader of `location` listens and how followers find it: the election's `endpoint`
 * for a `RaveLevel`. This module owns the choice of socket (inside the location, falling back to
 * the private directory when something else sits there) and keeping the endpoint record
 * current. The endpoints it hands out may hold a descriptor of the location open (a long
 * location on Linux); the election closes them.
 */
export function leaderEndpoint(location: string): EndpointResolver<Endpoint> {
  let fallback = false
  return {
    connect: () => readEndpoint(location),
    listen: async () => {
      const endpoint = openEndpoint(location, { hashed: fallback })
      if (!fallback && (await occupied(endpoint.path))) {
        // Something that is not a socket (a directory, a file) sits where the leader would
        // listen: never remove it (it is not ours); listen in the private directory
        // instead, which followers find through the endpoint record.
        endpoint.close()
        fallback = true
        return openEndpoint(location, { hashed: true })
      }
      return endpoint
    },
    // Followers read the record first, so it must always name the current endpoint.
    published: (endpoint) => publishEndpoint(location, endpoint)
  }
}

/** Whether something other than a socket (or nothing) is at `path`. */
async function occupied(path: string): Promise<boolean> {
  try {
    return !(await fs.lstat(path)).isSocket()
  } catch {
    return false
  }
}
