// Every measuring section by name, in the order they run and report.
import * as cached from './sections/cached.mjs'
import * as failover from './sections/failover.mjs'
import * as iterate from './sections/iterate.mjs'
import * as pipelined from './sections/pipelined.mjs'
import * as remote from './sections/remote.mjs'
import * as sequential from './sections/sequential.mjs'
import * as startup from './sections/startup.mjs'
import * as watch from './sections/watch.mjs'
import * as writers from './sections/writers.mjs'

export const SECTIONS = { sequential, pipelined, iterate, writers, failover, startup, watch, remote, cached }
