import type { LocalStore, Sequencer } from '@rave-level/store'
import { BATCH, DEL, GET, GET_MANY, HAS, HAS_MANY, PUT, type Request } from './requests.js'

const BUFFER_KEY = Object.freeze({ keyEncoding: 'buffer' })
const SYNC = Object.freeze({ sync: true })

/**
 * Apply an operation made for a host (keys and values as bytes) to a local database instead,
 * in sequence: what was waiting when the guest started forwarding.
 */
export function replay(local: { store: LocalStore; sequencer: Sequencer }, req: Request): Promise<any> {
  const { store, sequencer } = local
  const a = req.a
  const sync = req.sync ? SYNC : undefined
  switch (req.kind) {
    case PUT:
      return sequencer.write([{ type: 'put', key: a, value: req.b, keyEncoding: 'buffer', valueEncoding: 'buffer' } as any], sync)
    case DEL:
      return sequencer.write([{ type: 'del', key: a, keyEncoding: 'buffer' } as any], sync)
    case BATCH:
      return sequencer.write(a, sync)
    case GET:
      return sequencer.read(() => store.get(a, { keyEncoding: 'buffer', valueEncoding: req.b }))
    case GET_MANY:
      return sequencer.read(() => store.getMany(a, { keyEncoding: 'buffer', valueEncoding: req.b }))
    case HAS:
      return sequencer.read(() => store.has(a, BUFFER_KEY))
    case HAS_MANY:
      return sequencer.read(() => store.hasMany(a, BUFFER_KEY))
    default:
      // CLEAR, and CLEAR_KEYS whose keys were not read yet: locally a clear runs exactly once.
      return sequencer.exclusive(() => store.clear({ ...a, keyEncoding: 'buffer' }))
  }
}
