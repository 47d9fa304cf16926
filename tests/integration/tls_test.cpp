// HTTPS upstreams: nginx (a real TLS server) terminates TLS in front of the fake upstream, with a
// CA and server certificates generated at test time by the openssl CLI.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

// Two distinct free loopback ports: both sockets stay bound until both numbers are known (one
// bind-and-close after another may hand out the same port twice; nginx then put both servers on
// one port and served the good certificate for the wrong-host model).
std::pair<int, int> two_free_ports() {
  int fds[2];
  int ports[2];
  for (int i = 0; i < 2; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fds[i], reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fds[i], reinterpret_cast<sockaddr*>(&a), &len);
    ports[i] = ntohs(a.sin_port);
  }
  for (int fd : fds) ::close(fd);
  return {ports[0], ports[1]};
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

void sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc != 0) throw std::runtime_error("command failed: " + cmd);
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* nginx = "/usr/sbin/nginx";
    ASSERT_EQ(::access(nginx, X_OK), 0) << "nginx is needed (scripts/install-deps.sh --test installs nginx-light)";
    dir = make_temp_dir();
    // A CA, a server certificate for localhost/127.0.0.1, and one for another host name.
    sh("cd " + dir +
       " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=llmgate-test-ca");
    for (std::string name : {"good", "wrong"}) {
      std::string san = name == "good" ? "DNS:localhost,IP:127.0.0.1" : "DNS:wrong.example";
      std::ofstream(dir + "/" + name + ".ext") << "subjectAltName=" << san << "\n";
      sh("cd " + dir + " && openssl req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
         ".csr -subj /CN=" + name + " && openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key " +
         "-CAcreateserial -out " + name + ".pem -days 2 -extfile " + name + ".ext");
    }
    up = new FakeUpstream();
    std::tie(good_port, wrong_port) = two_free_ports();
    ASSERT_NE(good_port, wrong_port);
    std::ofstream(dir + "/nginx.conf")
        << "daemon off;\nmaster_process off;\npid " << dir << "/nginx.pid;\n"
        << "error_log " << dir << "/nginx-error.log;\nevents {}\nhttp {\n  access_log off;\n"
        << "  client_body_temp_path " << dir << "/cb; proxy_temp_path " << dir << "/pt;\n"
        << "  fastcgi_temp_path " << dir << "/ft; uwsgi_temp_path " << dir << "/ut; scgi_temp_path " << dir << "/st;\n"
        << "  upstream fake { server 127.0.0.1:" << up->port() << "; keepalive 8; }\n"
        << "  server { listen 127.0.0.1:" << good_port << " ssl; ssl_certificate " << dir << "/good.pem; "
        << "ssl_certificate_key " << dir << "/good.key;\n"
        << "    location / { proxy_pass http://fake; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } }\n"
        << "  server { listen 127.0.0.1:" << wrong_port << " ssl; ssl_certificate " << dir << "/wrong.pem; "
        << "ssl_certificate_key " << dir << "/wrong.key;\n"
        << "    location / { proxy_pass http://fake; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } }\n"
        << "}\n";
    nginx_pid = ::fork();
    if (nginx_pid == 0) {
      ::execl(nginx, "nginx", "-c", (dir + "/nginx.conf").c_str(), "-p", dir.c_str(), nullptr);
      ::_exit(127);
    }
    const auto deadline = steady_clock::now() + seconds(10);
    while (!(port_open(good_port) && port_open(wrong_port)) && steady_clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(20));
    ASSERT_TRUE(port_open(good_port) && port_open(wrong_port)) << "nginx did not start";

    auto model = [](const std::string& name, const std::string& base, const std::string& verify) {
      return "  - model_name: " + name +
             "\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: " + base + "\n" +
             (verify.empty() ? "" : "      ssl_verify: " + verify + "\n");
    };
    const std::string good = "https://localhost:" + std::to_string(good_port) + "/v1";
    const std::string wrong = "https://127.0.0.1:" + std::to_string(wrong_port) + "/v1";
    gw = new Daemon("model_list:\n" + model("tls-ca", good, dir + "/ca.pem") + model("tls-system-store", good, "") +
                    model("tls-wrong-host", wrong, dir + "/ca.pem") + model("tls-noverify", wrong, "false") +
                    "general_settings:\n  master_key: " + kMasterKey + "\n  background_health_checks: false\n");
  }
  static void TearDownTestSuite() {
    delete gw;
    if (nginx_pid > 0) {
      ::kill(nginx_pid, SIGTERM);
      int st;
      ::waitpid(nginx_pid, &st, 0);
    }
    delete up;
  }
  static inline std::string dir;
  static inline FakeUpstream* up = nullptr;
  static inline Daemon* gw = nullptr;
  static inline pid_t nginx_pid = -1;
  static inline int good_port = 0, wrong_port = 0;
};

TEST_F(TlsTest, CustomCaBundleIsAcceptedAndConnectionsAreReused) {
  for (int i = 0; i < 3; ++i) {
    auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("tls-ca"), {auth_header()});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"], FakeUpstream::kContent);
  }
  auto s = request(gw->port(), "POST", "/v1/chat/completions", chat_body("tls-ca", true), {auth_header()});
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find("[DONE]"), std::string::npos);
}

TEST_F(TlsTest, UnknownCaIsRejectedWith502NamingTheHost) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("tls-system-store"), {auth_header()});
  EXPECT_EQ(r.status, 502) << r.body;
  auto msg = json::parse(r.body)["error"]["message"].get<std::string>();
  EXPECT_NE(msg.find("localhost"), std::string::npos) << msg;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "upstream_tls_error");
}

TEST_F(TlsTest, WrongHostNameIsRejected) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("tls-wrong-host"), {auth_header()});
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("127.0.0.1"), std::string::npos);
}

TEST_F(TlsTest, SslVerifyFalseIsAccepted) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("tls-noverify"), {auth_header()});
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
