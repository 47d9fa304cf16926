#pragma once
// The ledger writer shares the machine's cores with the request path. A batch of rows is
// milliseconds of CPU, and a thread that runs that long unbroken keeps whatever the gateway is
// waiting on (the upstream, the client, a worker) off its core for the scheduler's slice. The
// writer therefore offers its CPU (sched_yield) every ~200 us: between rows, and, through this
// VFS, between the file writes of a COMMIT or a checkpoint, which run inside SQLite (a 2,000-row
// commit writes a few hundred WAL frames in ~2 ms; a checkpoint inside one took ~90 ms).
// With nobody waiting, sched_yield returns at once.

namespace llmgate::store {

// Name of a VFS that wraps SQLite's default one and calls yield_point() after every read,
// write and sync. Registered on first use (not as the default VFS); thread-safe.
const char* yielding_vfs_name();

// The errno of this thread's last failed write, truncate or sync through the VFS (0: none), and
// clears it. SQLite reports most of them as "disk I/O error"; the OS's reason (EFBIG, EIO,
// EROFS) is what an operator needs.
int take_failed_io_errno();

// Offers the CPU when this thread has run one slice since its last offer: ~200 us, or ~1 ms
// while this thread's fine slices are off; says whether it did.
bool yield_point();
// Turns this thread's fine (~200 us) slices on (the default) or off (~1 ms).
void set_fine_yields(bool on);

// Whether a writer thread should yield every ~200 us (fine) or every ~1 ms, from what its
// batches measured. Fine slices are for a core with idle time: a woken thread (the upstream,
// the client, a worker) gets it within ~200 us instead of waiting for the rest of a batch. On a
// saturated core the threads there are always runnable, the scheduler shares the core anyway,
// and each yield mostly adds a switch (at 50 connections the fine yields cost ~0.1x of nginx's
// CPU per request); ~1 ms slices still bound how long a worker waits behind a commit. The signal
// is the writer's own run-queue wait during a batch run with fine slices, divided by its run
// time: ~1.1-1.5 at 1 connection, ~5.5 at 50 (/proc/thread-self/schedstat). Above kSaturated
// the slices go coarse; every kProbeEvery-th batch then runs fine again to measure, and stays
// fine when the load has gone.
class YieldGovernor {
 public:
  static constexpr double kSaturated = 3.0;
  static constexpr int kProbeEvery = 10;
  // Whether the next batch runs with fine slices.
  bool next_batch_yields() const { return on_ || since_probe_ + 1 >= kProbeEvery; }
  // After a batch: its run time and run-queue wait (ns) and whether it ran with fine slices.
  void observe(double run_ns, double wait_ns, bool yielded);
  bool on() const { return on_; }

 private:
  bool on_ = true;
  int since_probe_ = 0;  // batches without yields since the last measurement
};

// This thread's time on a CPU and waiting for one (ns), from /proc/thread-self/schedstat;
// false when the kernel does not provide it.
bool thread_sched_times(double& run_ns, double& wait_ns);

}  // namespace llmgate::store
