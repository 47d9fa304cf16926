#include "ledger/sqlite/db_lock.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

namespace llmgate::store {

class DbFileLock {
 public:
  DbFileLock(int fd, pid_t owner) : fd_(fd), owner_(owner) {}
  ~DbFileLock() { ::close(fd_); }  // closing the last descriptor releases the flock
  DbFileLock(const DbFileLock&) = delete;
  DbFileLock& operator=(const DbFileLock&) = delete;
  pid_t owner() const { return owner_; }

 private:
  int fd_;
  pid_t owner_;
};

namespace {

bool in_memory(const std::string& p) {
  return p.empty() || p == ":memory:" || p.rfind("file::memory:", 0) == 0 ||
         (p.rfind("file:", 0) == 0 && p.find("mode=memory") != std::string::npos);
}

// The held locks of this process, by the lock file's identity: two spellings of one path (a
// relative and an absolute one, a symlink) share one lock, since a second flock on a new
// descriptor of the same file would conflict with our own.
std::mutex registry_mu;
std::map<std::pair<dev_t, ino_t>, std::weak_ptr<const DbFileLock>> registry;

std::string holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "another process";
  std::string pid(buf, static_cast<std::size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return "another process";
  return "process " + pid;
}

}  // namespace

std::string lock_file_path(const std::string& db_path) { return db_path + ".lock"; }

std::shared_ptr<const DbFileLock> lock_database_file(const std::string& db_path) {
  if (in_memory(db_path)) return nullptr;
  const std::string lock_path = lock_file_path(db_path);
  std::filesystem::path parent = std::filesystem::path(lock_path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  // flock needs no write access: a lock file another user created (an earlier pod's UID) or a
  // read-only one still locks; only the pid is not written then.
  if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
    fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    spdlog::warn(
        "database lock: cannot open '{}' ({}); '{}' is used without the "
        "one-process lock",
        lock_path, std::strerror(errno), db_path);
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    spdlog::warn(
        "database lock: cannot stat '{}' ({}); '{}' is used without the "
        "one-process lock",
        lock_path, std::strerror(e), db_path);
    return nullptr;
  }
  const auto id = std::make_pair(st.st_dev, st.st_ino);
  std::lock_guard lk(registry_mu);
  // A forked child inherits the registry but must take its own lock.
  if (auto held = registry[id].lock(); held && held->owner() == ::getpid()) {
    ::close(fd);
    return held;
  }
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int e = errno;
    const std::string holder = e == EWOULDBLOCK ? holder_of(fd) : std::string();
    ::close(fd);
    if (e != EWOULDBLOCK) {
      spdlog::warn(
          "database lock: cannot lock '{}' ({}); '{}' is used without the "
          "one-process lock",
          lock_path, std::strerror(e), db_path);
      return nullptr;
    }
    throw DatabaseInUse("database '" + db_path + "' is in use by " + holder + " (it holds '" + lock_path +
                        "'). Run one gateway per SQLite file: stop the other one, or give each replica its "
                        "own database_url. Several replicas sharing one ledger need PostgreSQL, which "
                        "llmgate does not support yet.");
  }
  // The holder's pid, for the message another process prints. The file's content is only
  // informative: the kernel's lock is what counts (a stale pid after a crash means nothing).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    spdlog::debug("database lock: cannot write the pid into '{}'", lock_path);
  auto held = std::make_shared<const DbFileLock>(fd, ::getpid());
  registry[id] = held;
  return held;
}

}  // namespace llmgate::store
