// Child process: opens a database and stays its leader until killed or told to stop.
// argv: <impl: ours|upstream> <location>
import { once } from 'node:events'

const [impl, location] = process.argv.slice(2)
const { RaveLevel } = impl === 'upstream' ? await import('rave-level-1') : await import('rave-level')

const db = new RaveLevel(location, { valueEncoding: 'utf8' })
// Both implementations emit 'leader'; this process starts first, so it leads.
await once(db, 'leader')
await db.put('__ready', String(process.pid))
process.send?.({ ready: true })
process.on('message', async (msg) => {
  if (msg === 'stop') {
    await db.close()
    process.exit(0)
  }
})
// Keep the process alive while it serves.
setInterval(() => {}, 1 << 30)
