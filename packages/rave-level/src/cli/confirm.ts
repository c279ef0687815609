import { once } from 'node:events'
import readline from 'node:readline/promises'

/**
 * Ask `question` on `output` and read one line from `input`: true for "y" or "yes" (any case),
 * false for anything else or when the input ends (Ctrl-D) before an answer.
 */
export async function confirm(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream
): Promise<boolean> {
  const rl = readline.createInterface({ input, output })
  try {
    const closed = once(rl, 'close').then(() => '')
    const answer = await Promise.race([rl.question(question), closed])
    return /^y(?:es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
