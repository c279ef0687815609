import type { Command } from 'commander'
import type { CliIo } from '../context.js'
import { clearCommand } from './clear.js'
import { countCommand } from './count.js'
import { delCommand } from './del.js'
import { getCommand } from './get.js'
import { lsCommand } from './ls.js'
import { putCommand } from './put.js'
import { statusCommand } from './status.js'
import { watchCommand } from './watch.js'

/** Every command, in the order `--help` lists them. A new command is one more file in this folder and one more entry here. */
export const COMMANDS: readonly ((io: CliIo) => Command)[] = [
  getCommand,
  putCommand,
  delCommand,
  lsCommand,
  countCommand,
  clearCommand,
  statusCommand,
  watchCommand
]
