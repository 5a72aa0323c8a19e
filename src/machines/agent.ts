// The instance agent: publishes `fly_instance_*` for every instance the runner knows, read from /proc and the
// proxy at collection time (a registry collector, so there is no polling loop). An instance here is a process tree
// on a shared host, not a VM, so each figure is either the instance's own (its process tree, its proxied bytes,
// its exits) or the host's, and docs/instance-metrics.md says which. Counters of the process tree stay monotonic
// across restarts and across exits of child processes: see `Carry`.

import { type StatsFs, statfsSync } from "node:fs";
import type { Collector, Registry } from "../exposition/registry.ts";
import type { FamilySample, MetricFamily } from "../exposition/writer.ts";
import { Labels, METRIC_NAME } from "../model/labels.ts";
import { readHostMemory, readLoadavg, readOpenFilesLimit, readTreeUsage, USER_HZ } from "./procfs.ts";
import { exitStatus, type InstanceStatus } from "./spec.ts";

/** Where the agent finds instances; the {@link Runner} is one. */
export interface InstanceSource {
  instances(): readonly InstanceStatus[];
}

/**
 * The edge proxy's byte counts for an instance, from the proxy's side and monotonic: `sent` = bytes the proxy
 * sent to the instance, `recv` = bytes it received from the instance. Undefined when the proxy has none.
 */
export type ProxiedBytes = (instanceId: string) => { readonly sent: number; readonly recv: number } | undefined;

/** Options of an {@link InstanceAgent}. */
export interface AgentOptions {
  readonly source: InstanceSource;
  readonly proxiedBytes: ProxiedBytes;
  /** Registers the agent's collector here when given. */
  readonly registry?: Registry;
  /** Default `/proc`. */
  readonly procRoot?: string;
}

type Kind = "counter" | "gauge";

/** Every family the agent writes: name, type and help. */
const FAMILIES: Readonly<Record<string, readonly [Kind, string]>> = {
  fly_instance_up: ["gauge", "1 while the instance runs and is healthy or starting, else 0."],
  fly_instance_cpu: ["counter", "CPU time of the instance's process tree, in centiseconds."],
  fly_instance_load_average: ["gauge", "Load average of the host the instance runs on."],
  fly_instance_memory_mem_total: ["gauge", "Host memory, bytes (MemTotal)."],
  fly_instance_memory_mem_free: ["gauge", "Host free memory, bytes (MemFree)."],
  fly_instance_memory_mem_available: ["gauge", "Host available memory, bytes (MemAvailable)."],
  fly_instance_memory_buffers: ["gauge", "Host buffers, bytes (Buffers)."],
  fly_instance_memory_cached: ["gauge", "Host page cache, bytes (Cached)."],
  fly_instance_memory_swap_cached: ["gauge", "Host swap cache, bytes (SwapCached)."],
  fly_instance_memory_swap_total: ["gauge", "Host swap, bytes (SwapTotal)."],
  fly_instance_memory_swap_free: ["gauge", "Host free swap, bytes (SwapFree)."],
  fly_instance_memory_shmem: ["gauge", "Host shared memory, bytes (Shmem)."],
  fly_instance_memory_dirty: ["gauge", "Host dirty pages, bytes (Dirty)."],
  fly_instance_memory_writeback: ["gauge", "Host pages being written back, bytes (Writeback)."],
  fly_instance_memory_active: ["gauge", "Host memory used recently, bytes (Active)."],
  fly_instance_memory_inactive: ["gauge", "Host memory not used recently, bytes (Inactive)."],
  fly_instance_memory_slab: ["gauge", "Host kernel slab memory, bytes (Slab)."],
  fly_instance_memory_vmalloc_total: ["gauge", "Host vmalloc address space, bytes (VmallocTotal)."],
  fly_instance_memory_vmalloc_used: ["gauge", "Host vmalloc space in use, bytes (VmallocUsed)."],
  fly_instance_memory_vmalloc_chunk: ["gauge", "Largest free vmalloc block of the host, bytes (VmallocChunk)."],
  fly_instance_memory_rss: ["gauge", "Resident memory of the instance's process tree, bytes (sum of VmRSS)."],
  fly_instance_memory_rss_anon: ["gauge", "Anonymous resident memory of the process tree, bytes (sum of RssAnon)."],
  fly_instance_memory_rss_file: ["gauge", "File-backed resident memory of the process tree, bytes (sum of RssFile)."],
  fly_instance_memory_rss_shmem: ["gauge", "Shared resident memory of the process tree, bytes (sum of RssShmem)."],
  fly_instance_memory_pss: ["gauge", "Proportional set size of the process tree, bytes (sum of Pss)."],
  fly_instance_memory_swap: ["gauge", "Swapped-out memory of the process tree, bytes (sum of VmSwap)."],
  fly_instance_net_recv_bytes: ["counter", "Bytes the edge proxy sent to the instance."],
  fly_instance_net_sent_bytes: ["counter", "Bytes the edge proxy received from the instance."],
  fly_instance_disk_sectors_read: ["counter", "Storage reads of the process tree, 512-byte sectors (io read_bytes)."],
  fly_instance_disk_sectors_written: [
    "counter",
    "Storage writes of the process tree, 512-byte sectors (io write_bytes).",
  ],
  fly_instance_filesystem_blocks: ["gauge", "Blocks of the file system holding the app directory."],
  fly_instance_filesystem_block_size: ["gauge", "Block size of that file system, bytes."],
  fly_instance_filesystem_blocks_free: ["gauge", "Free blocks of that file system."],
  fly_instance_filesystem_blocks_avail: ["gauge", "Blocks of that file system available to unprivileged users."],
  fly_instance_filefd_allocated: ["gauge", "Open file descriptors of the instance's process tree."],
  fly_instance_filefd_maximum: ["gauge", "Open-files limit (soft) of the instance's main process."],
  fly_instance_exit_code: ["gauge", "Status of the instance's last exit: its code, or 128 + signal number."],
  fly_instance_exit_oom: ["gauge", "1 when the instance's last exit was an out-of-memory kill, else 0."],
};

/** Host `/proc/meminfo` keys and the family suffix each becomes. */
const HOST_MEMORY: readonly (readonly [string, string])[] = [
  ["MemTotal", "mem_total"],
  ["MemFree", "mem_free"],
  ["MemAvailable", "mem_available"],
  ["Buffers", "buffers"],
  ["Cached", "cached"],
  ["SwapCached", "swap_cached"],
  ["SwapTotal", "swap_total"],
  ["SwapFree", "swap_free"],
  ["Shmem", "shmem"],
  ["Dirty", "dirty"],
  ["Writeback", "writeback"],
  ["Active", "active"],
  ["Inactive", "inactive"],
  ["Slab", "slab"],
  ["VmallocTotal", "vmalloc_total"],
  ["VmallocUsed", "vmalloc_used"],
  ["VmallocChunk", "vmalloc_chunk"],
];

const SECTOR_BYTES = 512;
/** Nominal device and mount names, as on the seed's platform (an instance's NIC, disk and root file system). */
const NET_DEVICE = "eth0";
const DISK_DEVICE = "vda";
const MOUNT = "/";

/**
 * Keeps a counter read from a process tree monotonic. Within one process (same leader pid) a drop means a child
 * exited without being reaped into the tree, so the drop is carried; a new leader (a restart) carries the last
 * total. Time used between the last collection and an exit is not seen: the counter under-counts, never over.
 */
export class Carry {
  private base = 0;
  private last = 0;

  /** Takes a raw reading; `restarted` when it comes from a new leader process. Returns the monotonic total. */
  update(raw: number, restarted: boolean): number {
    if (restarted) {
      this.base += this.last;
      this.last = 0;
    }
    if (raw < this.last) this.base += this.last - raw;
    this.last = raw;
    return this.base + raw;
  }

  /** The total without a new reading (while no process runs). */
  get total(): number {
    return this.base + this.last;
  }
}

interface Carried {
  pid: number;
  readonly user: Carry;
  readonly system: Carry;
  readonly read: Carry;
  readonly written: Carry;
}

/** Publishes `fly_instance_*` for the instances of a source. */
export class InstanceAgent {
  private readonly carried = new Map<string, Carried>();
  private readonly procRoot: string;

  constructor(private readonly options: AgentOptions) {
    this.procRoot = options.procRoot ?? "/proc";
    options.registry?.addCollector(this.collector);
  }

  /** The collector to add to a registry (already added when `registry` was given). */
  readonly collector: Collector = () => this.collect();

  /** Reads every figure now and returns the families; each sample's labels carry `__name__`. */
  collect(): MetricFamily[] {
    const out = new Map<string, FamilySample[]>();
    const statuses = this.options.source.instances();
    const local = statuses.some((s) => s.info.kind === "local");
    const hostMemory = local ? readHostMemory(this.procRoot) : new Map<string, number>();
    const load = local ? readLoadavg(this.procRoot) : null;
    const fsByDir = new Map<string, StatsFs | null>();
    const seen = new Set<string>();

    for (const s of statuses) {
      const i = s.info;
      seen.add(i.id);
      const base: [string, string][] = [
        ["app", i.app],
        ["region", i.region],
        ["host", i.host],
        ["instance", i.id],
      ];
      const add = (name: string, value: number, extra?: readonly [string, string][]) => {
        let list = out.get(name);
        if (list === undefined) {
          list = [];
          out.set(name, list);
        }
        const pairs: [string, string][] = [[METRIC_NAME, name], ...base];
        if (extra !== undefined) pairs.push(...extra);
        list.push({ labels: Labels.fromPairs(pairs), value });
      };

      const running = s.state === "running" && s.health !== "unhealthy" && (i.kind === "external" || s.pid !== null);
      add("fly_instance_up", running ? 1 : 0);
      const bytes = this.options.proxiedBytes(i.id);
      add("fly_instance_net_recv_bytes", bytes?.sent ?? 0, [["device", NET_DEVICE]]);
      add("fly_instance_net_sent_bytes", bytes?.recv ?? 0, [["device", NET_DEVICE]]);
      if (s.lastExit !== null) {
        add("fly_instance_exit_code", exitStatus(s.lastExit));
        add("fly_instance_exit_oom", s.lastExit.oom ? 1 : 0);
      }
      if (i.kind === "external") continue;

      // The process tree: its own usage.
      const usage = s.pid === null ? null : readTreeUsage(s.pid, this.procRoot);
      let c = this.carried.get(i.id);
      let restarted = false;
      if (usage !== null && s.pid !== null) {
        if (c === undefined) {
          c = { pid: s.pid, user: new Carry(), system: new Carry(), read: new Carry(), written: new Carry() };
          this.carried.set(i.id, c);
        } else if (c.pid !== s.pid) {
          c.pid = s.pid;
          restarted = true;
        }
      }
      if (c !== undefined) {
        const ticksToCs = 100 / USER_HZ;
        const user = usage === null ? c.user.total : c.user.update(usage.userTicks, restarted);
        const system = usage === null ? c.system.total : c.system.update(usage.systemTicks, restarted);
        const read = usage === null ? c.read.total : c.read.update(usage.readBytes, restarted);
        const written = usage === null ? c.written.total : c.written.update(usage.writeBytes, restarted);
        add("fly_instance_cpu", user * ticksToCs, [
          ["cpu_id", "0"],
          ["mode", "user"],
        ]);
        add("fly_instance_cpu", system * ticksToCs, [
          ["cpu_id", "0"],
          ["mode", "system"],
        ]);
        add("fly_instance_disk_sectors_read", Math.floor(read / SECTOR_BYTES), [["device", DISK_DEVICE]]);
        add("fly_instance_disk_sectors_written", Math.floor(written / SECTOR_BYTES), [["device", DISK_DEVICE]]);
      }
      if (usage !== null && s.pid !== null) {
        add("fly_instance_memory_rss", usage.rss);
        add("fly_instance_memory_rss_anon", usage.rssAnon);
        add("fly_instance_memory_rss_file", usage.rssFile);
        add("fly_instance_memory_rss_shmem", usage.rssShmem);
        add("fly_instance_memory_pss", usage.pss);
        add("fly_instance_memory_swap", usage.swap);
        add("fly_instance_filefd_allocated", usage.openFds);
        const maxFds = readOpenFilesLimit(s.pid, this.procRoot);
        if (maxFds !== null) add("fly_instance_filefd_maximum", maxFds);
      }

      // The host: shared with every other process on it.
      for (const [key, suffix] of HOST_MEMORY) {
        const v = hostMemory.get(key);
        if (v !== undefined) add(`fly_instance_memory_${suffix}`, v);
      }
      if (load !== null) {
        add("fly_instance_load_average", load[0], [["minutes", "1"]]);
        add("fly_instance_load_average", load[1], [["minutes", "5"]]);
        add("fly_instance_load_average", load[2], [["minutes", "15"]]);
      }
      if (s.dir !== null) {
        let fs = fsByDir.get(s.dir);
        if (fs === undefined) {
          fs = statfsOrNull(s.dir);
          fsByDir.set(s.dir, fs);
        }
        if (fs !== null) {
          const mount: [string, string][] = [["mount", MOUNT]];
          add("fly_instance_filesystem_blocks", fs.blocks, mount);
          add("fly_instance_filesystem_block_size", fs.bsize, mount);
          add("fly_instance_filesystem_blocks_free", fs.bfree, mount);
          add("fly_instance_filesystem_blocks_avail", fs.bavail, mount);
        }
      }
    }
    for (const id of this.carried.keys()) if (!seen.has(id)) this.carried.delete(id);

    const families: MetricFamily[] = [];
    for (const [name, samples] of out) {
      const [type, help] = FAMILIES[name];
      families.push({ name, type, help, samples });
    }
    return families;
  }
}

function statfsOrNull(dir: string): StatsFs | null {
  try {
    return statfsSync(dir);
  } catch {
    return null;
  }
}
