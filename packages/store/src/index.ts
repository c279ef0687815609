export type { Change, ChangeListener } from './changes.js'
export {
  type ClearOptions,
  type ForwardTarget,
  type Formats,
  type LocalIterator,
  LocalStore,
  type WriteOp
} from './local-store.js'
export { type BatchTarget, type SequencedWrite, Sequencer, type WriteOptions } from './sequencer.js'
export { type MaintenanceCall, type MaintenanceTarget, maintenance } from './maintenance.js'
