#pragma once
// How many CPUs the process may use: the affinity mask (taskset, cpuset) and the cgroup v2
// `cpu.max` quota (a container's CPU limit). The default worker count. No Asio here.
#include <optional>
#include <string>
#include <string_view>

namespace llmgate {

struct CpuLimit {
  int cpus = 1;        // at least 1
  std::string reason;  // how it was decided, for the log: "cgroup cpu.max 200000/100000; affinity 64"
};

// Quota / period of a cgroup v2 `cpu.max` file ("200000 100000"); nullopt for "max ..." (no
// limit) or anything malformed.
std::optional<double> parse_cpu_max(std::string_view contents);

// The cgroup v2 path ("/kubepods/pod1/c1") from the contents of /proc/self/cgroup (its "0::"
// line); nullopt when there is none (cgroup v1 only).
std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup);

// The CPUs usable: min(affinity, ceil(tightest quota on the cgroup's path up to the root)), at
// least 1. `affinity` is the number of CPUs in the affinity mask (0 = unknown: `hardware` is
// used); the cgroup's cpu.max files are read under `cgroup_root` (the cgroup2 mount,
// /sys/fs/cgroup) following `proc_self_cgroup`; a missing file means no limit at that level.
CpuLimit usable_cpus(int affinity, unsigned hardware, const std::string& cgroup_root,
                     std::string_view proc_self_cgroup);

// usable_cpus for this process: sched_getaffinity, /proc/self/cgroup, /sys/fs/cgroup.
CpuLimit usable_cpus_of_this_process();

}  // namespace llmgate
