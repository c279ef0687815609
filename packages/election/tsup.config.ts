import { defineConfig } from 'tsup'
import { base } from '../../tsup.base'
// Two entries: the kernel-lock election, and the etcd lease election (which loads etcd3).
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/lease.ts'] })
