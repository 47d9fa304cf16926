#pragma once
// Integration-test harness: runs the real llmgate binary on port 0 with a config written to a
// temp dir, and talks to it over raw sockets (so tests control every byte: limits, pipelining,
// Expect, disconnects). Waits are bounded; no sleeps as synchronisation.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace llmgate::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string{} : it->second;
  }
};

class RawConn {
 public:
  explicit RawConn(int port);
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  bool send(const std::string& bytes);
  // Reads one complete response (skipping 1xx interim responses unless keep_interim).
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                           bool keep_interim = false);
  // Reads whatever arrives until the peer closes or `timeout`; returns the raw bytes.
  std::string read_until_close(std::chrono::milliseconds timeout);
  // Reads raw bytes until `needle` appears in what was read (or timeout). Returns all read bytes.
  std::string read_until(const std::string& needle, std::chrono::milliseconds timeout);
  // Reads until `done(all bytes read so far)` is true or the peer closes; returns those bytes,
  // or nullopt when neither happened within `timeout`.
  std::optional<std::string> read_until_done(const std::function<bool(const std::string&)>& done,
                                             std::chrono::milliseconds timeout);
  // True when the peer closed the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);
  // Ends our sending side (the peer reads end of stream); reading goes on.
  void shutdown_write();
  void close();

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // reads more into buf_
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

// ASCII lower case.
std::string lower(std::string s);

// Builds a request. `headers` are added as given; Content-Length is added for a body.
std::string http_request(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {}, bool keep_alive = true);
std::string chat_body(const std::string& model, bool stream = false, const std::string& extra = "");

// One request on a fresh connection.
RawResponse request(int port, const std::string& method, const std::string& target, const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {});

class Daemon {
 public:
  // Writes `yaml` to a temp dir and starts the binary (--host 127.0.0.1 --port 0 --workers 2):
  // llmgate, or `binary` (LLMGATE_FAULT_BIN: the fault-injecting build, fault_point.hpp).
  explicit Daemon(const std::string& yaml, std::vector<std::string> extra_args = {},
                  std::vector<std::pair<std::string, std::string>> env = {}, const char* binary = LLMGATE_BIN);
  ~Daemon();  // SIGKILL when still running
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string log() const;
  // Sends a signal.
  void signal(int sig);
  // Waits for exit; returns the exit code (or 128+signal), or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout);
  bool running();

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
};

// An upstream on a loopback port that answers every request with the bytes `answer` returns
// (given the request's target and body), then closes the connection. For answers the fake
// upstream cannot give: broken framing, odd statuses, deep or malformed JSON.
class ScriptedUpstream {
 public:
  using Answer = std::function<std::string(const std::string& target, const std::string& body)>;
  explicit ScriptedUpstream(Answer answer);
  ~ScriptedUpstream();
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;
  int port() const { return port_; }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string last_answer();  // the bytes last sent

 private:
  void serve();
  Answer answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string last_;
};

// A unique temp directory (removed by the OS eventually; tests keep it for inspection).
std::string make_temp_dir();
// CPU time a process has used, user + system, in clock ticks (/proc/<pid>/stat).
long long process_cpu_ticks(pid_t pid);
// Runs the binary with args, returns (exit code, stdout+stderr).
std::pair<int, std::string> run_binary(const std::vector<std::string>& args,
                                       const std::vector<std::pair<std::string, std::string>>& env = {});

inline constexpr const char* kMasterKey = "sk-test-master-0123456789";
inline std::pair<std::string, std::string> auth_header(const std::string& key = kMasterKey) {
  return {"Authorization", "Bearer " + key};
}

}  // namespace llmgate::test
