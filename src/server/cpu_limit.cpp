#include "server/cpu_limit.hpp"

#include <sched.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace llmgate {

namespace {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool parse_positive(std::string_view s, double& out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = std::strtod(std::string(s).c_str(), nullptr);
  return out > 0;
}

}  // namespace

std::optional<double> parse_cpu_max(std::string_view contents) {
  contents = trim(contents);
  const auto sp = contents.find(' ');
  const std::string_view quota = contents.substr(0, sp);
  // The period is optional in what the kernel accepts on write; it always prints it.
  const std::string_view period = sp == std::string_view::npos ? std::string_view("100000")
                                                               : trim(contents.substr(sp + 1));
  double q = 0, p = 0;
  if (!parse_positive(quota, q) || !parse_positive(period, p)) return std::nullopt;
  return q / p;
}

std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup) {
  while (!proc_self_cgroup.empty()) {
    const auto nl = proc_self_cgroup.find('\n');
    const std::string_view line = proc_self_cgroup.substr(0, nl);
    if (line.rfind("0::", 0) == 0) return std::string(trim(line.substr(3)));
    if (nl == std::string_view::npos) break;
    proc_self_cgroup.remove_prefix(nl + 1);
  }
  return std::nullopt;
}

CpuLimit usable_cpus(int affinity, unsigned hardware, const std::string& cgroup_root,
                     std::string_view proc_self_cgroup) {
  CpuLimit out;
  const int base = affinity > 0 ? affinity : static_cast<int>(std::max(1u, hardware));
  std::string base_reason = affinity > 0 ? "affinity " : "hardware ";
  base_reason += std::to_string(base);

  // The effective quota is the tightest one on the way from the process's cgroup to the root
  // (a pod's limit sits on the pod's cgroup, above the container's).
  std::optional<double> tightest;
  std::string tightest_text;
  bool any_file = false;
  if (auto path = cgroup_v2_path(proc_self_cgroup)) {
    // A path outside our cgroup namespace ("/../x") cannot be followed under the mount: only
    // the mount's own root applies.
    const bool outside = path->find("..") != std::string::npos || path->empty() || path->front() != '/';
    std::string p = outside ? std::string(1, '/') : std::move(*path);
    for (;;) {
      const std::string dir = p == "/" ? cgroup_root : cgroup_root + p;
      if (auto text = read_small_file(dir + "/cpu.max")) {
        any_file = true;
        const auto q = parse_cpu_max(*text);
        if (q && (!tightest || *q < *tightest)) {
          tightest = q;
          tightest_text = std::string(trim(*text));
          if (const auto sp = tightest_text.find(' '); sp != std::string::npos) tightest_text[sp] = '/';
        }
      }
      if (p == "/") break;
      const auto slash = p.rfind('/');
      p = slash == 0 ? "/" : p.substr(0, slash);
    }
  }

  out.cpus = base;
  if (tightest) {
    const int quota_cpus = std::max(1, static_cast<int>(std::ceil(*tightest - 1e-9)));
    if (quota_cpus < out.cpus) out.cpus = quota_cpus;
    out.reason = "cgroup cpu.max " + tightest_text + "; " + base_reason;
  } else {
    out.reason = (any_file ? "cgroup cpu.max max; " : "no cgroup cpu.max; ") + base_reason;
  }
  out.cpus = std::max(1, out.cpus);
  return out;
}

CpuLimit usable_cpus_of_this_process() {
  int affinity = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) affinity = CPU_COUNT(&set);
  const std::string cgroup = read_small_file("/proc/self/cgroup").value_or("");
  return usable_cpus(affinity, std::thread::hardware_concurrency(), "/sys/fs/cgroup", cgroup);
}

}  // namespace llmgate
