// One demo worker: writes keys to the shared database as fast as its leader acknowledges them,
// reporting each acknowledged write and each election to the parent.
// argv: <location> <name>
import { RaveLevel } from 'rave-level'

const [location, name] = process.argv.slice(2)
const db = new RaveLevel(location, { valueEncoding: 'json' })
let stopping = false
let seq = 0

db.on('leader', () => process.send({ type: 'leader', name, pid: process.pid }))
db.on('stalled', (info) => process.send({ type: 'stalled', name, info }))

process.on('message', async (msg) => {
  if (msg === 'stop') {
    stopping = true
  }
})

while (!stopping) {
  const key = `${name}/${String(seq++).padStart(6, '0')}`
  try {
    await db.put(key, { by: name, pid: process.pid, at: Date.now() })
    process.send({ type: 'ack', key })
  } catch (err) {
    // With retry (the default) a put survives a leader's death; an error here is a real failure.
    process.send({ type: 'error', name, key, code: err.code, message: err.message })
  }
  // A few hundred writes per second per worker keeps the log readable.
  await new Promise((resolve) => setTimeout(resolve, 3))
}

await db.close()
process.send({ type: 'closed', name })
process.disconnect()
