/** Serve the fenced job log at `file` on `port` (0: any free port) of `host`. */
export declare function serveFencedLog(
  file: string,
  port?: number,
  host?: string
): Promise<{ port: number; close(): Promise<void> }>

/** Connect to a fenced job log. */
export declare function connectFencedLog(
  port: number,
  host?: string
): {
  append(token: bigint | string, job: string, text?: string): Promise<string>
  close(): void
}
