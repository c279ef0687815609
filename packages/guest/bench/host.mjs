// Child process of throughput.mjs: serves a classic-level database with LevelHost on a unix
// socket until told to stop. argv: <location> <socket path>
import net from 'node:net'
import { pipeline } from 'node:stream'
import { LevelHost } from '@rave-level/host'
import { ClassicLevel } from 'classic-level'

const [location, path] = process.argv.slice(2)
const db = new ClassicLevel(location)
await db.open()
const host = new LevelHost(db)
const server = net.createServer((socket) => pipeline(socket, host.createRpcStream(), socket, () => {}))
server.listen(path, () => process.send({ ready: true }))
process.on('message', async () => {
  server.close()
  await db.close()
  process.exit(0)
})
