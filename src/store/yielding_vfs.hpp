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

// Offers the CPU when this thread has run ~200 us since its last offer; says whether it did.
bool yield_point();

}  // namespace llmgate::store
