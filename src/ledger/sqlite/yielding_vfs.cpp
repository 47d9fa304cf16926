#include "ledger/sqlite/yielding_vfs.hpp"

#include <sched.h>
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace llmgate::store {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSlice = std::chrono::microseconds(200);
constexpr auto kCoarseSlice = std::chrono::microseconds(1000);

// A file of the wrapping VFS: our header, then the real VFS's file object in the same block
// (szOsFile covers both).
struct YFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<YFile*>(f)->real; }

thread_local int t_failed_io_errno = 0;
// Right after the real VFS's call: errno is still the failed system call's.
int noted(int rc) {
  if (rc != SQLITE_OK && errno != 0) t_failed_io_errno = errno;
  return rc;
}

int y_close(sqlite3_file* f) {
  sqlite3_file* r = real(f);
  return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}
int y_read(sqlite3_file* f, void* b, int n, sqlite3_int64 off) {
  sqlite3_file* r = real(f);
  const int rc = r->pMethods->xRead(r, b, n, off);
  yield_point();  // a checkpoint reads each frame before writing it
  return rc;
}
int y_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 off) {
  sqlite3_file* r = real(f);
  const int rc = noted(r->pMethods->xWrite(r, b, n, off));
  yield_point();
  return rc;
}
int y_truncate(sqlite3_file* f, sqlite3_int64 size) {
  sqlite3_file* r = real(f);
  return noted(r->pMethods->xTruncate(r, size));
}
int y_sync(sqlite3_file* f, int flags) {
  sqlite3_file* r = real(f);
  const int rc = noted(r->pMethods->xSync(r, flags));
  yield_point();
  return rc;
}
int y_file_size(sqlite3_file* f, sqlite3_int64* size) {
  sqlite3_file* r = real(f);
  return r->pMethods->xFileSize(r, size);
}
int y_lock(sqlite3_file* f, int l) {
  sqlite3_file* r = real(f);
  return r->pMethods->xLock(r, l);
}
int y_unlock(sqlite3_file* f, int l) {
  sqlite3_file* r = real(f);
  return r->pMethods->xUnlock(r, l);
}
int y_check_reserved(sqlite3_file* f, int* out) {
  sqlite3_file* r = real(f);
  return r->pMethods->xCheckReservedLock(r, out);
}
int y_file_control(sqlite3_file* f, int op, void* arg) {
  sqlite3_file* r = real(f);
  return r->pMethods->xFileControl(r, op, arg);
}
int y_sector_size(sqlite3_file* f) {
  sqlite3_file* r = real(f);
  return r->pMethods->xSectorSize(r);
}
int y_device_characteristics(sqlite3_file* f) {
  sqlite3_file* r = real(f);
  return r->pMethods->xDeviceCharacteristics(r);
}
int y_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion < 2 || !r->pMethods->xShmMap) return SQLITE_IOERR_SHMMAP;
  return r->pMethods->xShmMap(r, region, size, extend, out);
}
int y_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion < 2 || !r->pMethods->xShmLock) return SQLITE_IOERR_SHMLOCK;
  return r->pMethods->xShmLock(r, offset, n, flags);
}
void y_shm_barrier(sqlite3_file* f) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion >= 2 && r->pMethods->xShmBarrier) r->pMethods->xShmBarrier(r);
}
int y_shm_unmap(sqlite3_file* f, int del) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion < 2 || !r->pMethods->xShmUnmap) return SQLITE_OK;
  return r->pMethods->xShmUnmap(r, del);
}
int y_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion < 3 || !r->pMethods->xFetch) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return r->pMethods->xFetch(r, off, n, out);
}
int y_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  sqlite3_file* r = real(f);
  if (r->pMethods->iVersion < 3 || !r->pMethods->xUnfetch) return SQLITE_OK;
  return r->pMethods->xUnfetch(r, off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    y_close,
    y_read,
    y_write,
    y_truncate,
    y_sync,
    y_file_size,
    y_lock,
    y_unlock,
    y_check_reserved,
    y_file_control,
    y_sector_size,
    y_device_characteristics,
    y_shm_map,
    y_shm_lock,
    y_shm_barrier,
    y_shm_unmap,
    y_fetch,
    y_unfetch,
};

sqlite3_vfs g_vfs;
sqlite3_vfs* g_base = nullptr;

int y_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* y = reinterpret_cast<YFile*>(f);
  y->real = reinterpret_cast<sqlite3_file*>(y + 1);
  y->real->pMethods = nullptr;
  const int rc = g_base->xOpen(g_base, name, y->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set: on failure the real file is already closed.
  y->base.pMethods = y->real->pMethods ? &kMethods : nullptr;
  return rc;
}

// The remaining VFS methods (delete, access, full pathname, randomness, sleep, time, ...) are
// the base VFS's own, copied with it; they take the VFS pointer, so they get the base one.
int y_delete(sqlite3_vfs*, const char* name, int sync_dir) { return g_base->xDelete(g_base, name, sync_dir); }
int y_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_base->xAccess(g_base, name, flags, out); }
int y_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* y_dl_open(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void y_dl_error(sqlite3_vfs*, int n, char* msg) { g_base->xDlError(g_base, n, msg); }
void (*y_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) { return g_base->xDlSym(g_base, h, sym); }
void y_dl_close(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int y_randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int y_sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int y_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int y_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}
int y_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  if (g_base->iVersion >= 2 && g_base->xCurrentTimeInt64) return g_base->xCurrentTimeInt64(g_base, out);
  double d = 0;
  const int rc = g_base->xCurrentTime(g_base, &d);
  *out = static_cast<sqlite3_int64>(d * 86400000.0);
  return rc;
}

}  // namespace

namespace {
thread_local Clock::duration t_slice = kSlice;
}  // namespace

void set_fine_yields(bool on) { t_slice = on ? Clock::duration(kSlice) : Clock::duration(kCoarseSlice); }

int take_failed_io_errno() { return std::exchange(t_failed_io_errno, 0); }

bool yield_point() {
  thread_local Clock::time_point last = Clock::now();
  const auto now = Clock::now();
  if (now - last < t_slice) return false;
  sched_yield();
  last = Clock::now();
  return true;
}

const char* yielding_vfs_name() {
  static std::once_flag once;
  static int rc = SQLITE_OK;
  std::call_once(once, [] {
    g_base = sqlite3_vfs_find(nullptr);
    if (!g_base) {
      rc = SQLITE_ERROR;
      return;
    }
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;  // no xSetSystemCall & co: version 3's methods are for testing
    g_vfs.szOsFile = static_cast<int>(sizeof(YFile)) + g_base->szOsFile;
    g_vfs.mxPathname = g_base->mxPathname;
    g_vfs.zName = "llmgate-yield";
    g_vfs.xOpen = y_open;
    g_vfs.xDelete = y_delete;
    g_vfs.xAccess = y_access;
    g_vfs.xFullPathname = y_full_pathname;
    g_vfs.xDlOpen = y_dl_open;
    g_vfs.xDlError = y_dl_error;
    g_vfs.xDlSym = y_dl_sym;
    g_vfs.xDlClose = y_dl_close;
    g_vfs.xRandomness = y_randomness;
    g_vfs.xSleep = y_sleep;
    g_vfs.xCurrentTime = y_current_time;
    g_vfs.xGetLastError = y_get_last_error;
    g_vfs.xCurrentTimeInt64 = y_current_time_int64;
    rc = sqlite3_vfs_register(&g_vfs, 0);
  });
  if (rc != SQLITE_OK) throw std::runtime_error("cannot register the ledger's SQLite VFS");
  return g_vfs.zName;
}

void YieldGovernor::observe(double run_ns, double wait_ns, bool yielded) {
  if (!yielded) {
    ++since_probe_;
    return;
  }
  since_probe_ = 0;
  // A batch too short to say anything (under ~1 ms on a CPU) keeps the current choice.
  if (run_ns < 1e6) return;
  on_ = wait_ns <= kSaturated * run_ns;
}

bool thread_sched_times(double& run_ns, double& wait_ns) {
  std::FILE* f = std::fopen("/proc/thread-self/schedstat", "re");
  if (!f) return false;
  unsigned long long run = 0, wait = 0;
  const bool ok = std::fscanf(f, "%llu %llu", &run, &wait) == 2;
  std::fclose(f);
  run_ns = static_cast<double>(run);
  wait_ns = static_cast<double>(wait);
  return ok;
}

}  // namespace llmgate::store
