import { readEndpoint } from '@rave-level/socket-path'
import { Command } from 'commander'
import { isRemoteUrl } from '../../remote-url.js'
import { type CliIo, runCommand } from '../context.js'
import type { BytesDatabase } from '../open-database.js'
import { addCommonOptions, type CommonFlags } from '../options.js'

/** What `status` reports; `null` where it cannot be known. */
export interface Status {
  location: string
  endpoint: string
  leaderPid: number | null
  pid: number
  role: 'leader' | 'follower' | 'electing'
  size: number | null
}

/**
 * `rave-level status <location>`: who leads, where it serves, this process's role and the
 * database's approximate size on disk.
 */
export function statusCommand(io: CliIo): Command {
  const command = new Command('status')
    .summary('show the leader, endpoint, role and size')
    .description(
      "Show the database's leader (its pid, when known), the endpoint it serves on, the role this " +
        'process took to ask (follower when a leader exists, else leader), and the approximate size.'
    )
    .argument('<location>', 'database directory, or tls://host:port of a leader that listens')
  return addCommonOptions(command, 'none')
    .addHelpText('after', '\nExamples:\n  rave-level status ./db\n  rave-level status ./db --json')
    .action((location: string, flags: CommonFlags) =>
      runCommand(io, command, location, flags, () => async ({ db, out }) => {
        const status = await readStatus(db)
        await out.result(status, formatStatus(status))
      })
    )
}

async function readStatus(db: BytesDatabase): Promise<Status> {
  // One read settles the election: afterwards this process is a follower or the leader.
  const [first] = await db.keys({ limit: 1 }).all()
  const role = db.role
  const leaderPid = db.leaderPid
  return {
    location: db.location,
    endpoint: isRemoteUrl(db.location) ? db.location : await endpointName(db.location),
    leaderPid: leaderPid ?? null,
    pid: process.pid,
    role,
    size: await approximateSize(db, first)
  }
}

/** The name of the endpoint that followers of `location` connect to (nothing is kept open). */
async function endpointName(location: string): Promise<string> {
  const endpoint = await readEndpoint(location)
  endpoint.close()
  return endpoint.name
}

/** The size on disk of every key, if the database can tell (`approximateSize()`), else null. */
async function approximateSize(db: BytesDatabase, first: Buffer | undefined): Promise<number | null> {
  const sized = db as unknown as { approximateSize?: (start: Buffer, end: Buffer) => Promise<number> }
  if (typeof sized.approximateSize !== 'function') return null
  if (first === undefined) return 0
  const [last] = await db.keys({ limit: 1, reverse: true }).all()
  // The end is exclusive: the last key followed by a zero byte is the smallest key after it.
  return sized.approximateSize.call(db, first, Buffer.concat([last ?? first, Buffer.from([0])]))
}

function formatStatus(status: Status): string {
  const self = status.leaderPid === status.pid ? ' (this process)' : ''
  const rows = [
    ['location', status.location],
    ['endpoint', status.endpoint],
    ['leader pid', status.leaderPid === null ? 'unknown' : `${status.leaderPid}${self}`],
    ['this process', `pid ${status.pid}, ${status.role}`],
    ['size', status.size === null ? 'unknown (this version cannot tell)' : `${formatBytes(status.size)} (approximate)`]
  ]
  return rows.map(([name, value]) => `${(name as string).padEnd(13)}${value}`).join('\n')
}

function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
