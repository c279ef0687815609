/**
 * Version of the extension protocol this host speaks (the `Hello` exchange, see the protocol
 * package's README). Bumped only for incompatible changes; new messages are new features.
 */
export const EXTENSION_VERSION = 1

/**
 * Features this host announces in its `Hello`:
 * - `heartbeat`: `Heartbeat` frames while the guest waits for us (the guest's `heartbeat` ms);
 * - `messages`: error replies carry the error's message next to its code;
 * - `frame-limit`: replies never exceed the guest's `maxFrameSize` (they fail with
 *   `LEVEL_FRAME_TOO_LARGE` instead);
 * - `sync`: `Put`, `Delete` and `Batch` honour their `sync` field.
 */
export const HOST_FEATURES: readonly string[] = Object.freeze(['heartbeat', 'messages', 'frame-limit', 'sync'])

/** Shortest heartbeat interval a guest may ask for, so that one cannot make us spin. */
export const MIN_HEARTBEAT = 10
