import { once } from 'node:events'

/**
 * Where a command writes its results: one line per result, human-readable or, with `--json`,
 * one JSON object per line. Writes wait for the stream to drain, so that `ls` of a large
 * database holds only a screenful in memory. When the reader goes away (`rave-level ls db |
 * head`), the stream fails with `EPIPE`: from then on {@link Output.closed} is true, writes are
 * dropped and the command stops early and exits quietly, as `cat` does.
 * @internal
 */
export class Output {
  readonly json: boolean
  readonly #stream: NodeJS.WritableStream
  #closed = false

  constructor(stream: NodeJS.WritableStream, json: boolean) {
    this.#stream = stream
    this.json = json
    stream.on('error', (err: NodeJS.ErrnoException) => this.#fail(err))
  }

  /** True once the reader has gone away. */
  get closed(): boolean {
    return this.#closed
  }

  /** Write `text` and a newline. */
  async line(text: string): Promise<void> {
    if (this.#closed) return
    if (this.#stream.write(`${text}\n`)) return
    try {
      await once(this.#stream, 'drain')
    } catch (err) {
      this.#fail(err as NodeJS.ErrnoException)
    }
  }

  /** Write `record` as one line of JSON. */
  record(record: object): Promise<void> {
    return this.line(JSON.stringify(record))
  }

  /** With `--json` write `record`, else `text` (nothing when `text` is undefined). */
  async result(record: object, text: string | undefined): Promise<void> {
    if (this.json) await this.record(record)
    else if (text !== undefined) await this.line(text)
  }

  // EPIPE is the usual case; any other failure of stdout leaves nothing to write to either.
  #fail(_err: NodeJS.ErrnoException): void {
    this.#closed = true
  }
}
