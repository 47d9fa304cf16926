// The default worker count: affinity mask and cgroup v2 cpu.max, with fake cgroup trees.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "server/cpu_limit.hpp"

using namespace llmgate;
namespace fs = std::filesystem;

namespace {

class FakeCgroup {
 public:
  FakeCgroup() {
    root_ = fs::temp_directory_path() / ("llmgate-cgroup-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
  }
  ~FakeCgroup() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  // Writes <root><dir>/cpu.max.
  void cpu_max(const std::string& dir, const std::string& text) {
    fs::create_directories(root_.string() + dir);
    std::ofstream(root_.string() + dir + "/cpu.max") << text;
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

}  // namespace

TEST(CpuLimit, ParsesCpuMax) {
  EXPECT_EQ(parse_cpu_max("200000 100000\n"), 2.0);
  EXPECT_EQ(parse_cpu_max("150000 100000"), 1.5);
  EXPECT_EQ(parse_cpu_max("50000 100000\n"), 0.5);
  EXPECT_FALSE(parse_cpu_max("max 100000\n"));
  EXPECT_FALSE(parse_cpu_max(""));
  EXPECT_FALSE(parse_cpu_max("-1 100000"));
  EXPECT_FALSE(parse_cpu_max("100000 0"));
  EXPECT_FALSE(parse_cpu_max("abc def"));
}

TEST(CpuLimit, FindsTheCgroupV2Path) {
  EXPECT_EQ(cgroup_v2_path("0::/kubepods/pod1/c1\n"), "/kubepods/pod1/c1");
  EXPECT_EQ(cgroup_v2_path("12:cpu,cpuacct:/x\n0::/\n"), "/");
  EXPECT_FALSE(cgroup_v2_path("12:cpu,cpuacct:/x\n"));
  EXPECT_FALSE(cgroup_v2_path(""));
}

TEST(CpuLimit, AffinityAloneDecidesWithoutCgroupFile) {
  FakeCgroup cg;  // no cpu.max anywhere
  auto l = usable_cpus(1, 64, cg.root(), "0::/\n");
  EXPECT_EQ(l.cpus, 1);
  EXPECT_NE(l.reason.find("no cgroup cpu.max"), std::string::npos) << l.reason;
  EXPECT_NE(l.reason.find("affinity 1"), std::string::npos) << l.reason;
  // The cgroup mount itself missing (cgroup v1, or no /sys/fs/cgroup) is the same.
  EXPECT_EQ(usable_cpus(3, 64, "/nonexistent-cgroup-root", "0::/a\n").cpus, 3);
  EXPECT_EQ(usable_cpus(5, 64, cg.root(), "").cpus, 5);
}

TEST(CpuLimit, UnlimitedQuotaKeepsTheAffinity) {
  FakeCgroup cg;
  cg.cpu_max("", "max 100000\n");
  auto l = usable_cpus(4, 64, cg.root(), "0::/\n");
  EXPECT_EQ(l.cpus, 4);
  EXPECT_NE(l.reason.find("cgroup cpu.max max"), std::string::npos) << l.reason;
}

TEST(CpuLimit, QuotaRoundsUpAndCapsTheAffinity) {
  FakeCgroup cg;
  cg.cpu_max("", "150000 100000\n");
  EXPECT_EQ(usable_cpus(64, 64, cg.root(), "0::/\n").cpus, 2);
  cg.cpu_max("", "200000 100000\n");
  auto l = usable_cpus(64, 64, cg.root(), "0::/\n");
  EXPECT_EQ(l.cpus, 2);
  EXPECT_EQ(l.reason, "cgroup cpu.max 200000/100000; affinity 64");
  cg.cpu_max("", "10000 100000\n");  // a tenth of a CPU: still one worker
  EXPECT_EQ(usable_cpus(64, 64, cg.root(), "0::/\n").cpus, 1);
  // A quota above the affinity does not add CPUs.
  cg.cpu_max("", "800000 100000\n");
  EXPECT_EQ(usable_cpus(2, 64, cg.root(), "0::/\n").cpus, 2);
}

TEST(CpuLimit, TightestQuotaOnThePathToTheRootWins) {
  FakeCgroup cg;
  cg.cpu_max("/kubepods/pod1", "300000 100000\n");  // the pod's limit
  cg.cpu_max("/kubepods/pod1/c1", "max 100000\n");  // the container: none of its own
  auto l = usable_cpus(64, 64, cg.root(), "0::/kubepods/pod1/c1\n");
  EXPECT_EQ(l.cpus, 3);
  EXPECT_NE(l.reason.find("300000/100000"), std::string::npos) << l.reason;
  cg.cpu_max("/kubepods/pod1/c1", "100000 100000\n");
  EXPECT_EQ(usable_cpus(64, 64, cg.root(), "0::/kubepods/pod1/c1\n").cpus, 1);
}

TEST(CpuLimit, UnknownAffinityFallsBackToTheHardware) {
  FakeCgroup cg;
  auto l = usable_cpus(0, 8, cg.root(), "0::/\n");
  EXPECT_EQ(l.cpus, 8);
  EXPECT_NE(l.reason.find("hardware 8"), std::string::npos) << l.reason;
  EXPECT_EQ(usable_cpus(0, 0, cg.root(), "0::/\n").cpus, 1);
}

TEST(CpuLimit, ThisProcessHasAtLeastOne) {
  auto l = usable_cpus_of_this_process();
  EXPECT_GE(l.cpus, 1);
  EXPECT_FALSE(l.reason.empty());
}
