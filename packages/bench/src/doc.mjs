// BENCHMARKS.md, rendered from one run saved with `--json`: the report as the bench prints it,
// the targets and their verdicts, and the notes that explain them. Every figure in the file
// comes from that run, so the words and the tables cannot disagree; the notes hold no figure of
// a run, only what profiles showed (each says so) and how the code works.
// `write-doc.mjs` writes the file; `test/doc.test.mjs` checks that it is what this renders.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ms } from './format.mjs'
import { render } from './report.mjs'
import { IMPLS as FAILOVER_IMPLS } from './sections/failover.mjs'
import { bareRatio } from './sections/remote.mjs'
import { cpuKey, ratios, series, summary } from './stats.mjs'
import { verdicts } from './targets.mjs'

/** The run the committed BENCHMARKS.md is rendered from, and the file, relative to the repository's root. */
export const RUN_FILE = 'packages/bench/results/latest.json'
export const DOC_FILE = 'BENCHMARKS.md'

/** A path relative to the repository's root, made absolute. */
export const rootPath = (file) => path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', file)

/** The groups of targets, in the order of the report, each with the notes that explain it. */
const GROUPS = [
  {
    title: 'Sequential put, get and del on a follower',
    section: 'sequential',
    notes: `
The serial bound is what one operation at a time could reach if the follower and the leader
cost nothing: one bare unix-socket round trip plus classic-level's own operation, both measured
in the same run. A profile of 20,000 sequential operations (\`node --cpu-prof\` in both
processes, and \`strace -c\`; taken while working on issue 14, not in this run) shows what it is
made of:

- each process is idle 75-82% of the time;
- the largest CPU item on each side is the socket write itself (\`writeBuffer\`, ~20 us per
  operation), then classic-level's own call on the leader (~17 us, its dispatch to the thread
  pool); all our JavaScript together (guest, protocol, host, store, Node streams) is ~10 us per
  operation on each side;
- strace counts, per operation, one write, one read and two \`epoll_wait\` on the follower, and on
  the leader the same plus the thread pool's futex and eventfd wake-ups that classic-level's own
  get pays too.

No reply waits for a later turn of the event loop, and a lone write goes straight to
classic-level's \`_put\` (the shared group commit adds no tick when nothing else is committing).
What is left to take away is at most those ~20 us of JavaScript in a ~170 us round trip (in
that profile), made mostly of cross-vCPU wake-ups.`
  },
  {
    title: 'Iteration on a follower',
    section: 'iterate',
    notes: `
Before issue 14 the leader was the limit: its \`nextv()\` was in flight ~5 us per entry, because
classic-level makes a \`Buffer\` of every key and value about three times slower than a string.
The host now reads text where the database stores it and the range is UTF-8, changing to
buffers at the first entry that is not UTF-8, and reads the next batch while it encodes the
last; the leader's main thread is busy a small part of a pass, and the follower is the stage
that limits. The bench measures one pass per round in fresh processes after a warm-up of 1,000
entries. In a profile, that first pass costs the follower ~8 us per entry (12% garbage
collection, abstract-level's per-entry \`next()\`, and a \`Buffer\` view per key and value decoded
before its string is made); a process that has iterated a few times reads at ~3 us per entry
(0.7-0.8x classic-level for keys+values, in a separate script that is not part of \`pnpm
bench\`). What remains: decoding keys and values straight into the caller's encoding, and a
cheaper per-entry path.`
  },
  {
    title: 'Many writers',
    section: 'writers',
    notes: `
These are six processes on the machine's cores: four writers, the leader and LevelDB's thread
pool. A profile of the leader with 4 sequential writers (issue 14) found it idle 72% of the
time, socket writes 8.5%, classic-level's \`_put\` 4.9% and \`_batch\` 1.3%: it is not busy, and
most commits hold one write (writes of different connections rarely arrive while another
commits). Each sequential operation is a chain of wake-ups (follower, leader, thread pool,
leader, follower), and with five processes runnable on two vCPUs each waits for a core. A single
pipelined writer keeps the leader busy; four more busy processes take CPU from it, so what 4
pipelined writers can do on two vCPUs is bounded by the leader's share of them. The group commit
commits one batch at a time: the one commit order that the change feed builds on.`
  },
  {
    title: 'Failover',
    section: 'failover',
    extra: failoverFigures,
    notes: `
Timed step by step on a follower (issue 14): the kernel takes from SIGKILL to the closed socket
what the floor row measures; the lock is tried within 1 ms of that (no backoff first); LevelDB's
open takes 7-20 ms (it recovers the dead leader's log into a table and writes a new manifest);
and the operation that waited runs as soon as the lock is held (the endpoint is published
after it, no longer before). What remains is the kernel's floor plus LevelDB's recovery, which
upstream pays too: the target leaves the room above the floor computed above, and LevelDB's
open alone takes 7-20 ms of it.`
  },
  {
    title: 'The change feed (issue 12)',
    section: 'watch',
    notes: `
Latency is counted from the put's acknowledgement, as issue 12 defines it: the leader queues the
change in the same turn as the writer's acknowledgement and writes it right after. The CPU
table's last rows are the machine's bound: "all processes" is the CPU one put costs in the
leader, the writer and the watchers together, and the bound is the rate if both vCPUs were busy
with that work all the time (2 / CPU per put), next to the rate without watchers of the same
round; with more processes runnable than vCPUs, the rate is bounded by that. In the runs made
for issue 12, watchers of every value cost most; keys-only watchers, or watchers whose range no
write touches, cost much less. What moving the values costs was cut by:

- encoding a commit once for every watch of the same range, keys, values and frame limit, and
  sending those bytes behind each watch's own head without copying them per watch;
- starting the next group commit before telling the watchers of the last;
- writing the watchers' frames after the acknowledgements that writers wait for;
- decoding frames to offsets on the watcher, making its keys and values straight from the frame.

Where the rest of the time went in those runs: four watchers taking every value copy each value
into four sockets and out again, and the commit cycle is a chain (writer, leader, LevelDB's
thread, leader, writer) whose next stage waits for a core while four watchers woken after every
commit hold them. On a machine with more cores the watchers would not take the chain's. What was tried and dropped is
in [docs/tried-and-dropped.md](docs/tried-and-dropped.md).`
  },
  {
    title: 'Remote followers over TCP and TLS (issue 23)',
    section: 'remote',
    extra: remoteFigures,
    notes: `
A remote follower (\`RaveLevel.connect()\`, another process) over TLS and over plain TCP on
loopback, against a local follower over the unix socket, with a leader process each. Pipelined,
the transport hardly matters: many operations share each TLS record and each wake-up. One
operation at a time, each costs a round trip, and a round trip over TLS costs more CPU than one
over a unix socket in both processes (the kernel's TCP path, which on loopback also does the
receiving side's work inside the sender's write, then OpenSSL and Node's TLS stream). To show
how much of that is ours, the same slices time a bare leader over each transport: two processes
with none of our code, a client sending 40-byte frames one at a time and a server that puts or
gets a key in classic-level before it answers. Its TLS / unix ratio is about the most any
leader written for Node can reach on this machine. Profiles (\`perf record -g\` of both processes, taken for issue 23, not in this run) show no
hot spot of ours in the difference: the added time is spread over the kernel's TCP functions,
OpenSSL's record layer and Node's TLS wrapper, and the frames go out as one write per operation
on both transports (\`strace\`: one read and one write per operation in each process).`
  },
  {
    title: 'The follower cache (issue 22)',
    section: 'cached',
    notes: `
Four processes at once, each reading its own 10,000 keys (100-byte values): Zipf-distributed
with writes of its own keys at 1% and 10% (each starts with its keys read once, the cache warm),
each key once (\`distinct\`: nothing hits), and puts alone. A cached get costs about what
lmdb-js's synchronous read of its memory map costs; a miss costs the follower a lookup, a copy
of the value and its LRU bookkeeping, and the leader a check and a note of the key: turn the
cache off for readers that read each key once. In the Zipf workloads a put takes longer with
the cache on because the readers, served from memory, no longer wait on the leader and take the
machine's two vCPUs from it; \`puts only\` removes them. Profiles of 40,000 sequential puts by
one follower of keys it caches (\`--cpu-prof\`, taken for issue 22, not in this run) put what
the cache adds at about 2.5 us of CPU in the follower (keeping its own written keys out of its
reads until the answer, then dropping them) and under 0.5 us in the leader (hashing the keys at
the commit gate), against about 30 us per put without it; one writer measured apart, with and
without the cache alternately, used 27.5 us against 26.6 us per put. The CPU tables of the
report show the same per put in every process: the \`puts only\` rows of the writers and of the
leader, with the cache on and off. What the cache guarantees
is in [packages/rave-level](packages/rave-level/README.md#caching-reads-on-followers).`
  }
]

/**
 * One paragraph of figures for the remote group: the sequential TLS / unix ratios of ours and of
 * the bare leader (no rave-level code), and what TLS added to the CPU of each process.
 */
function remoteFigures(samples) {
  const med = (xs) => summary(xs).median
  const lines = []
  for (const op of ['put', 'get']) {
    const phase = `sequential ${op}`
    const ours = med(ratios(series(samples, 'TLS follower', phase), series(samples, 'unix follower', phase)))
    const bare = med(bareRatio(samples, 'TLS', phase))
    const added = (subject, base, process) =>
      med(series(samples, subject, cpuKey(phase, process))) - med(series(samples, base, cpuKey(phase, process)))
    lines.push(
      `Sequential ${op}s over TLS in this run: ours ${ours.toFixed(2)}x of the unix socket, the bare leader ` +
        `${bare.toFixed(2)}x (ours reaches ${(ours / bare).toFixed(2)} of that ceiling). TLS added ` +
        `${added('TLS bare', 'unix bare', 'server').toFixed(0)} µs of CPU per ${op} to the bare server and ` +
        `${added('TLS bare', 'unix bare', 'client').toFixed(0)} µs to its client; to ours, ` +
        `${added('TLS follower', 'unix follower', 'leader').toFixed(0)} µs to the leader and ` +
        `${added('TLS follower', 'unix follower', 'follower').toFixed(0)} µs to the follower; ` +
        `the 0.8x target is ${bare < 0.8 ? 'above' : 'within'} the bare leader's reach.`
    )
  }
  return lines.join(' ')
}

/** One line of figures for the failover group: the medians the target compares, and the floor. */
function failoverFigures(samples) {
  const median = (subject) => summary(series(samples, subject, 'ms')).median
  const [upstream, ours] = FAILOVER_IMPLS.map(median)
  const floor = median('kill → close (floor)')
  return (
    `Medians in this run: ours ${ms(ours)} ms, upstream ${ms(upstream)} ms, the floor (SIGKILL to the closed ` +
    `socket of a bare process) ${ms(floor)} ms. 0.7x of upstream's median is ${ms(0.7 * upstream)} ms, ` +
    `${ms(0.7 * upstream - floor)} ms above the floor.`
  )
}

const RUNS = {
  full: 'a full run (`npx -y pnpm@12.4.2 bench --json <file>` at the root)',
  quick:
    'a quick run (`npx -y pnpm@12.4.2 bench --quick --json <file>` at the root: smaller sizes and 3 rounds, so wider spreads than a full run)',
  smoke: 'a smoke run (tiny sizes, one round: the figures mean nothing)'
}

/**
 * The whole of BENCHMARKS.md for `run` (the JSON that `--json` writes), saved at `source` (a
 * path relative to the repository's root, named in the text).
 */
export function benchmarksDoc(run, sections, source) {
  const { config, meta, results } = run
  const judged = verdicts(
    Object.fromEntries(Object.entries(results).filter(([name]) => config.sections.includes(name)))
  )
  const out = [
    '# Benchmarks',
    '',
    `<!-- Generated from ${source} by packages/bench/src/write-doc.mjs: edit the notes in packages/bench/src/doc.mjs, not this file. -->`,
    '',
    '`pnpm bench` measures, in one run, classic-level used directly, upstream `rave-level` 1.0.0',
    'as a follower, ours as a follower and as the leader, and the bounds of the machine (a bare',
    "two-process unix-socket ping-pong, classic-level's own sequential and iteration rates), in",
    'interleaved rounds: every figure is a median with its spread (min-max), every ratio the median',
    'of per-round ratios. [packages/bench](packages/bench/README.md) says how it measures;',
    '`npx -y pnpm@12.4.2 bench --help` lists the sections and sizes, and `--cpu-prof dir` profiles every worker',
    'process.',
    '',
    'This file is generated: every figure and verdict below comes from one run saved with `--json`,',
    `\`${source}\`, rendered by \`npx -y pnpm@12.4.2 --filter @rave-level/bench doc\`; a test renders it again and`,
    'fails when this file differs, so the words and the figures cannot disagree.',
    '',
    `The run is ${RUNS[config.size] ?? config.size}, node ${meta.node} on ${meta.cpus} (${meta.os}), a shared VM on`,
    `which other work ran (load average ${meta.load[0].toFixed(2)} before, ${meta.load[1].toFixed(2)} after): spreads are wide, and only ratios`,
    'from one run compare.',
    '',
    '## Targets',
    '',
    'The targets of issue 14 (items 2 to 5), issue 12 (the change feed), issue 22 (the follower',
    'cache) and issue 23 (remote followers), each judged on the median of its per-round ratios.',
    '',
    '| target | wanted | this run: median [min-max] | verdict |',
    '|---|---|---|---|',
    ...judged.map(
      ({ what, target, shown, met }) => `| ${what} | ${target} | ${shown} | ${met ? 'met' : '**not met**'} |`
    ),
    ''
  ]
  for (const group of GROUPS) {
    if (results[group.section] === undefined || !config.sections.includes(group.section)) continue
    const mine = judged.filter((v) => v.section === group.section)
    const met = mine.filter((v) => v.met).length
    out.push(`### ${group.title}`, '')
    if (mine.length > 0) {
      const names = mine.map(({ what, met }) => `${what} (${met ? 'met' : 'not met'})`)
      if (mine.length === 1) out.push(`In this run the target is ${met === 1 ? 'met' : 'not met'}.`, '')
      else
        out.push(
          `In this run ${met} of these ${mine.length} targets ${met === 1 ? 'is' : 'are'} met: ${names.join('; ')}.`,
          ''
        )
    }
    if (group.extra !== undefined) out.push(group.extra(results[group.section]), '')
    out.push(group.notes.trim(), '')
  }
  out.push(
    '## The report',
    '',
    'As `pnpm bench` printed it (`--from <file>` prints it again):',
    '',
    '```',
    render(run, sections),
    '```',
    ''
  )
  return out.join('\n')
}
