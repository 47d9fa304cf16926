#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace llmgate::test {

using namespace std::chrono;

RawConn::RawConn(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConn::~RawConn() { close(); }

void RawConn::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConn::send(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConn::fill(steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) return false;
  auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(left));
  if (r <= 0) return false;
  char b[65536];
  ssize_t n = ::recv(fd_, b, sizeof b, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buf_.append(b, static_cast<std::size_t>(n));
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<RawResponse> RawConn::read_response(milliseconds timeout, bool keep_interim) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    std::size_t hend;
    while ((hend = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline)) return std::nullopt;
    RawResponse r;
    std::istringstream hs(buf_.substr(0, hend));
    std::string line;
    std::getline(hs, line);
    if (line.size() < 12) return std::nullopt;
    r.status = std::atoi(line.substr(9, 3).c_str());
    while (std::getline(hs, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto c = line.find(':');
      if (c == std::string::npos) continue;
      std::string v = line.substr(c + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[lower(line.substr(0, c))] = v;
    }
    buf_.erase(0, hend + 4);
    if (r.status >= 100 && r.status < 200) {
      if (keep_interim) return r;
      continue;
    }
    if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
      for (;;) {
        std::size_t le;
        while ((le = buf_.find("\r\n")) == std::string::npos)
          if (!fill(deadline)) return std::nullopt;
        std::size_t sz = std::strtoul(buf_.substr(0, le).c_str(), nullptr, 16);
        while (buf_.size() < le + 2 + sz + 2)
          if (!fill(deadline)) return std::nullopt;
        r.body.append(buf_, le + 2, sz);
        buf_.erase(0, le + 2 + sz + 2);
        if (sz == 0) break;
      }
    } else if (!r.header("content-length").empty()) {
      std::size_t n = std::strtoul(r.header("content-length").c_str(), nullptr, 10);
      while (buf_.size() < n)
        if (!fill(deadline)) return std::nullopt;
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
    }
    return r;
  }
}

std::string RawConn::read_until_close(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (fill(deadline)) {
  }
  std::string out;
  out.swap(buf_);
  return out;
}

std::string RawConn::read_until(const std::string& needle, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (buf_.find(needle) == std::string::npos)
    if (!fill(deadline)) break;
  return buf_;
}

std::optional<std::string> RawConn::read_until_done(const std::function<bool(const std::string&)>& done,
                                                    milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!eof_ && !done(buf_))
    if (!fill(deadline) && !eof_) return std::nullopt;
  std::string out;
  out.swap(buf_);
  return out;
}

void RawConn::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool RawConn::closed_within(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!eof_)
    if (!fill(deadline) && !eof_) return false;
  return true;
}

std::string http_request(const std::string& method, const std::string& target, const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST")
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) r += "Connection: close\r\n";
  r += "\r\n" + body;
  return r;
}

std::string chat_body(const std::string& model, bool stream, const std::string& extra) {
  std::string b = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hello"}])";
  if (stream) b += R"(,"stream":true)";
  if (!extra.empty()) b += "," + extra;
  return b + "}";
}

RawResponse request(int port, const std::string& method, const std::string& target, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  RawConn c(port);
  c.send(http_request(method, target, body, headers));
  auto r = c.read_response(seconds(30));
  if (!r) throw std::runtime_error("no response for " + method + " " + target);
  return *r;
}

namespace {
// In a forked child: stdout and stderr to `log`, `env` set, then llmgate with `args`. Nothing
// else is inherited (the test process's pipes and sockets), as when a supervisor starts it: the
// tests that count or limit a daemon's descriptors see only its own.
[[noreturn]] void exec_llmgate(const std::string& log, const std::vector<std::pair<std::string, std::string>>& env,
                               const std::vector<std::string>& args, const char* binary = LLMGATE_BIN) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  ::close_range(3, ~0U, 0);
  for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<std::string> a = {binary};
  a.insert(a.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(binary, argv.data());
  ::_exit(127);
}
}  // namespace

std::string make_temp_dir() {
  char tmpl[] = "/tmp/llmgate-it-XXXXXX";
  char* d = ::mkdtemp(tmpl);
  if (!d) throw std::runtime_error("mkdtemp failed");
  return d;
}

long long process_cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  std::istringstream rest(s.substr(s.rfind(')') + 2));  // after the command name
  std::string field;
  long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) ut = std::stoll(field);
    if (i == 15) st = std::stoll(field);
  }
  return ut + st;
}

Daemon::Daemon(const std::string& yaml, std::vector<std::string> extra_args,
               std::vector<std::pair<std::string, std::string>> env, const char* binary) {
  dir_ = make_temp_dir();
  std::ofstream(dir_ + "/config.yaml") << yaml;
  const std::string logpath = dir_ + "/llmgate.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::chdir(dir_.c_str());
    std::vector<std::string> args = {"--config", dir_ + "/config.yaml", "--host", "127.0.0.1", "--port",
                                     "0",        "--workers",           "2"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    exec_llmgate(logpath, env, args, binary);
  }
  const std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  const auto deadline = steady_clock::now() + seconds(15);
  while (steady_clock::now() < deadline) {
    std::smatch m;
    std::string l = log();
    if (std::regex_search(l, m, re)) {
      port_ = std::stoi(m[1]);
      return;
    }
    if (!running()) throw std::runtime_error("llmgate exited at startup:\n" + l);
    std::this_thread::sleep_for(milliseconds(10));  // polling the log file for readiness
  }
  throw std::runtime_error("llmgate did not start:\n" + log());
}

Daemon::~Daemon() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
}

std::string Daemon::log() const {
  std::ifstream f(dir_ + "/llmgate.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void Daemon::signal(int sig) { ::kill(pid_, sig); }

bool Daemon::running() {
  if (exited_) return false;
  int st;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    return false;
  }
  return true;
}

int Daemon::wait_exit(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    int st;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      if (WIFEXITED(st)) return WEXITSTATUS(st);
      if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
      return -1;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return -1;
}

std::pair<int, std::string> run_binary(const std::vector<std::string>& args,
                                       const std::vector<std::pair<std::string, std::string>>& env) {
  std::string dir = make_temp_dir();
  std::string out = dir + "/out.txt";
  pid_t pid = ::fork();
  if (pid == 0) {
    exec_llmgate(out, env, args);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, ss.str()};
}

ScriptedUpstream::ScriptedUpstream(Answer answer) : answer_(std::move(answer)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
    throw std::runtime_error("scripted upstream: bind/listen failed");
  socklen_t len = sizeof a;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedUpstream::~ScriptedUpstream() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

std::string ScriptedUpstream::last_answer() {
  std::lock_guard lk(mu_);
  return last_;
}

void ScriptedUpstream::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) continue;
    // The request: its head, then Content-Length bytes (the gateway always sends a length).
    std::string req;
    const auto deadline = steady_clock::now() + seconds(3);
    std::size_t need = std::string::npos, hend = std::string::npos;
    while (steady_clock::now() < deadline) {
      if (need == std::string::npos && (hend = req.find("\r\n\r\n")) != std::string::npos) {
        const std::string head = lower(req.substr(0, hend));
        const std::size_t at = head.find("content-length:");
        need = hend + 4 + (at == std::string::npos ? 0 : std::stoul(head.substr(at + 15)));
      }
      if (need != std::string::npos && req.size() >= need) break;
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 50) <= 0) continue;
      char b[16384];
      const ssize_t n = ::recv(c, b, sizeof b, 0);
      if (n <= 0) break;
      req.append(b, static_cast<std::size_t>(n));
    }
    const std::size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
    const std::string target = sp1 == std::string::npos || sp2 == std::string::npos
                                   ? ""
                                   : req.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string out = answer_(target, hend == std::string::npos ? "" : req.substr(hend + 4));
    {
      std::lock_guard lk(mu_);
      last_ = out;
    }
    for (std::size_t off = 0; off < out.size();) {
      const ssize_t n = ::send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(c);
  }
}

}  // namespace llmgate::test
