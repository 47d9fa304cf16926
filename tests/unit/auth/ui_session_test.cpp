// Dashboard sessions and routes: login, cookies, CSRF/origin checks, expiry, logout, backoff,
// security headers and asset serving. No sockets: handlers are called directly.
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "llmgate/app.hpp"
#include "llmgate/embedded.hpp"
#include "llmgate/ui.hpp"

using namespace llmgate;

namespace {

constexpr const char* kMaster = "sk-master-1234";
constexpr const char* kHost = "127.0.0.1:4000";
constexpr const char* kOrigin = "http://127.0.0.1:4000";

struct Clock {
  double t = 1'700'000'000;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

HttpRequest make_req(std::string method, std::string path, std::string ip = "10.0.0.1") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = path;
  r.target = path;
  r.client_ip = std::move(ip);
  r.headers.emplace_back("host", kHost);
  return r;
}

HttpRequest with_cookie(HttpRequest r, const std::string& id) {
  r.headers.emplace_back("cookie", "other=1; llmgate_session=" + id + "; x=y");
  return r;
}

HttpRequest post_with(const std::string& id, const std::string& csrf, const char* origin = kOrigin) {
  auto r = with_cookie(make_req("POST", "/key/generate"), id);
  if (origin) r.headers.emplace_back("origin", origin);
  if (!csrf.empty()) r.headers.emplace_back("x-csrf-token", csrf);
  return r;
}

std::string header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

class UiSessionTest : public ::testing::Test {
 protected:
  Clock clock;
  UiSessionSettings settings;
  std::unique_ptr<UiSessionManager> m;
  void SetUp() override {
    settings.idle_timeout_s = 600;
    settings.absolute_timeout_s = 3600;
    m = std::make_unique<UiSessionManager>(settings, clock.fn());
  }
  UiSessionManager::LoginResult login_ok() {
    auto res = m->login(make_req("POST", "/ui/login"), "admin", kMaster, kMaster);
    EXPECT_EQ(res.err, Errc::ok) << res.message;
    return res;
  }
};

}  // namespace

TEST_F(UiSessionTest, LoginWithMasterKeyIssuesLongRandomIdAndCsrfToken) {
  auto a = login_ok();
  auto b = login_ok();
  EXPECT_EQ(a.session_id.size(), 64u);  // 256 bits, hex
  EXPECT_EQ(a.csrf_token.size(), 64u);
  EXPECT_NE(a.session_id, b.session_id);
  EXPECT_NE(a.csrf_token, b.csrf_token);
  EXPECT_NE(a.session_id, a.csrf_token);
  EXPECT_EQ(a.session_id.find(kMaster), std::string::npos);
  EXPECT_EQ(m->size(), 2u);
}

TEST_F(UiSessionTest, WrongPasswordOrUserIsRejected) {
  EXPECT_EQ(m->login(make_req("POST", "/ui/login"), "admin", "sk-master-123", kMaster).err, Errc::unauthorized);
  EXPECT_EQ(m->login(make_req("POST", "/ui/login"), "root", kMaster, kMaster).err, Errc::unauthorized);
  EXPECT_EQ(m->login(make_req("POST", "/ui/login"), "admin", "", kMaster).err, Errc::unauthorized);
  EXPECT_EQ(m->size(), 0u);
}

TEST_F(UiSessionTest, NoMasterKeyMeansLoginDisabledEvenWithEmptyPassword) {
  auto res = m->login(make_req("POST", "/ui/login"), "admin", "", "");
  EXPECT_EQ(res.err, Errc::forbidden);
  EXPECT_NE(res.message.find("master_key"), std::string::npos);
}

TEST_F(UiSessionTest, UiPasswordOverridesMasterKey) {
  settings.password_override = "ui-secret";
  settings.username = "ops";
  m = std::make_unique<UiSessionManager>(settings, clock.fn());
  EXPECT_EQ(m->login(make_req("POST", "/ui/login"), "admin", kMaster, kMaster).err, Errc::unauthorized);
  EXPECT_EQ(m->login(make_req("POST", "/ui/login"), "ops", "ui-secret", kMaster).err, Errc::ok);
}

TEST_F(UiSessionTest, GetNeedsOnlyTheCookie) {
  auto s = login_ok();
  Errc err = Errc::ok;
  EXPECT_TRUE(m->authorize(with_cookie(make_req("GET", "/llmgate/api/logs"), s.session_id), err));
  EXPECT_FALSE(m->authorize(make_req("GET", "/llmgate/api/logs"), err));
  EXPECT_EQ(err, Errc::unauthorized);
  EXPECT_FALSE(m->authorize(with_cookie(make_req("GET", "/x"), std::string(64, 'a')), err));
  EXPECT_EQ(err, Errc::unauthorized);
}

TEST_F(UiSessionTest, StateChangingCallsNeedSameOriginAndCsrfToken) {
  auto s = login_ok();
  Errc err = Errc::ok;
  EXPECT_TRUE(m->authorize(post_with(s.session_id, s.csrf_token), err));
  EXPECT_EQ(err, Errc::ok);

  EXPECT_FALSE(m->authorize(post_with(s.session_id, ""), err));
  EXPECT_EQ(err, Errc::forbidden);
  EXPECT_FALSE(m->authorize(post_with(s.session_id, std::string(64, '0')), err));
  EXPECT_EQ(err, Errc::forbidden);
  EXPECT_FALSE(m->authorize(post_with(s.session_id, s.csrf_token, "http://evil.example"), err));
  EXPECT_EQ(err, Errc::forbidden);
  EXPECT_FALSE(m->authorize(post_with(s.session_id, s.csrf_token, "http://127.0.0.1:4001"), err));
  EXPECT_EQ(err, Errc::forbidden);
  EXPECT_FALSE(m->authorize(post_with(s.session_id, s.csrf_token, "null"), err));
  EXPECT_EQ(err, Errc::forbidden);
  EXPECT_FALSE(m->authorize(post_with(s.session_id, s.csrf_token, nullptr), err));  // no Origin
  EXPECT_EQ(err, Errc::forbidden);

  // Another session's token does not work.
  auto other = login_ok();
  EXPECT_FALSE(m->authorize(post_with(s.session_id, other.csrf_token), err));
  EXPECT_EQ(err, Errc::forbidden);
  for (const char* method : {"DELETE", "PUT", "PATCH"}) {
    auto r = post_with(s.session_id, "");
    r.method = method;
    EXPECT_FALSE(m->authorize(r, err)) << method;
  }
}

TEST_F(UiSessionTest, OriginMatchingHandlesDefaultPortsProxiesAndAllowList) {
  auto r = make_req("POST", "/ui/login");
  r.headers = {{"host", "gw.example.com"}, {"origin", "https://GW.example.com:443"}};
  EXPECT_TRUE(m->same_origin(r));
  r.headers = {{"host", "internal:4000"}, {"x-forwarded-host", "gw.example.com"}, {"origin", "https://gw.example.com"}};
  EXPECT_TRUE(m->same_origin(r));
  r.headers = {{"host", "internal:4000"}, {"origin", "https://gw.example.com"}};
  EXPECT_FALSE(m->same_origin(r));
  r.headers = {{"host", kHost}, {"origin", kOrigin}, {"sec-fetch-site", "cross-site"}};
  EXPECT_FALSE(m->same_origin(r));
  r.headers = {{"host", kHost}, {"referer", "http://127.0.0.1:4000/ui/"}};
  EXPECT_TRUE(m->same_origin(r));
  r.headers = {{"host", kHost}, {"origin", "http://127.0.0.1:4000@evil.example"}};
  EXPECT_FALSE(m->same_origin(r));

  settings.allowed_origins = {"https://dash.example.com"};
  UiSessionManager m2(settings, clock.fn());
  r.headers = {{"host", "10.1.2.3:4000"}, {"origin", "https://dash.example.com"}};
  EXPECT_TRUE(m2.same_origin(r));
}

TEST_F(UiSessionTest, IdleAndAbsoluteExpiry) {
  auto s = login_ok();
  Errc err = Errc::ok;
  auto get = with_cookie(make_req("GET", "/x"), s.session_id);
  clock.t += 590;
  EXPECT_TRUE(m->authorize(get, err));  // activity refreshes the idle timer
  clock.t += 590;
  EXPECT_TRUE(m->authorize(get, err));
  clock.t += 601;
  EXPECT_FALSE(m->authorize(get, err));  // idle too long
  EXPECT_EQ(err, Errc::unauthorized);
  EXPECT_EQ(m->size(), 0u);

  auto s2 = login_ok();
  auto get2 = with_cookie(make_req("GET", "/x"), s2.session_id);
  for (int i = 0; i < 7; ++i) {
    clock.t += 500;
    EXPECT_TRUE(m->authorize(get2, err)) << i;
  }
  clock.t += 200;  // 3700 s after login: past the absolute lifetime despite activity
  EXPECT_FALSE(m->authorize(get2, err));
}

TEST_F(UiSessionTest, LogoutDestroysTheSessionServerSide) {
  auto s = login_ok();
  auto get = with_cookie(make_req("GET", "/x"), s.session_id);
  EXPECT_TRUE(m->logout(get));
  Errc err = Errc::ok;
  EXPECT_FALSE(m->authorize(get, err));
  EXPECT_FALSE(m->session(get).has_value());
  EXPECT_FALSE(m->logout(get));
}

TEST_F(UiSessionTest, RepeatedFailuresFromOneAddressAreSlowedDown) {
  auto bad = [&](const char* ip) { return m->login(make_req("POST", "/ui/login", ip), "admin", "wrong", kMaster); };
  for (int i = 0; i < settings.free_failures - 1; ++i) EXPECT_EQ(bad("10.0.0.9").err, Errc::unauthorized);
  EXPECT_EQ(bad("10.0.0.9").err, Errc::unauthorized);  // this one starts the lockout
  auto locked = m->login(make_req("POST", "/ui/login", "10.0.0.9"), "admin", kMaster, kMaster);
  EXPECT_EQ(locked.err, Errc::rate_limited);  // even the right password waits
  EXPECT_GE(locked.retry_after_s, 1);
  // Another client is not affected.
  EXPECT_EQ(m->login(make_req("POST", "/ui/login", "10.0.0.10"), "admin", kMaster, kMaster).err, Errc::ok);
  clock.t += locked.retry_after_s;
  EXPECT_EQ(bad("10.0.0.9").err, Errc::unauthorized);
  auto longer = m->login(make_req("POST", "/ui/login", "10.0.0.9"), "admin", kMaster, kMaster);
  EXPECT_EQ(longer.err, Errc::rate_limited);
  EXPECT_GT(longer.retry_after_s, locked.retry_after_s);  // exponential
  clock.t += longer.retry_after_s;
  EXPECT_EQ(m->login(make_req("POST", "/ui/login", "10.0.0.9"), "admin", kMaster, kMaster).err, Errc::ok);
  EXPECT_EQ(bad("10.0.0.9").err, Errc::unauthorized);  // success reset the streak: no lockout
  EXPECT_EQ(m->login(make_req("POST", "/ui/login", "10.0.0.9"), "admin", kMaster, kMaster).err, Errc::ok);
}

TEST_F(UiSessionTest, CookieAttributes) {
  auto s = login_ok();
  auto plain = make_req("POST", "/ui/login");
  auto c = m->session_cookie(plain, s.session_id);
  EXPECT_NE(c.find("llmgate_session=" + s.session_id), std::string::npos);
  EXPECT_NE(c.find("HttpOnly"), std::string::npos);
  EXPECT_NE(c.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(c.find("Path=/"), std::string::npos);
  EXPECT_EQ(c.find("Secure"), std::string::npos);
  auto tls = plain;
  tls.tls = true;
  EXPECT_NE(m->session_cookie(tls, s.session_id).find("; Secure"), std::string::npos);
  auto proxied = plain;
  proxied.headers.emplace_back("x-forwarded-proto", "https");
  EXPECT_NE(m->session_cookie(proxied, s.session_id).find("; Secure"), std::string::npos);
  EXPECT_NE(m->clear_cookie(plain).find("Max-Age=0"), std::string::npos);
}

// ---- routes ------------------------------------------------------------------------------

namespace {

class UiRoutesTest : public ::testing::Test {
 protected:
  App app;
  std::unique_ptr<UiSessionManager> m;
  std::vector<Route> routes;
  void SetUp() override {
    auto cfg = std::make_shared<Config>();
    cfg->master_key = Secret(kMaster);
    app.set_config(cfg);
    m = std::make_unique<UiSessionManager>(UiSessionSettings{});
    app.ui_sessions = m.get();
    register_ui_routes(routes);
  }
  HttpResponse call(const HttpRequest& req) {
    const Route* best = nullptr;
    for (const auto& r : routes) {
      if (r.method != req.method) continue;
      bool prefix = !r.path.empty() && r.path.back() == '*';
      if (!prefix && r.path == req.path) {
        best = &r;
        break;
      }
      if (prefix && !best && req.path.rfind(r.path.substr(0, r.path.size() - 1), 0) == 0) best = &r;
    }
    EXPECT_NE(best, nullptr) << req.method << " " << req.path;
    EXPECT_FALSE(best->needs_master_key);
    return best->handler(req, app);
  }
  HttpResponse login(const std::string& body, const char* origin = kOrigin, const char* ip = "10.0.0.1") {
    auto r = make_req("POST", "/ui/login", ip);
    r.headers.emplace_back("content-type", "application/json");
    if (origin) r.headers.emplace_back("origin", origin);
    r.body = body;
    return call(r);
  }
  std::string cookie_of(const HttpResponse& r) {
    auto c = header(r, "Set-Cookie");
    auto eq = c.find('='), semi = c.find(';');
    return c.substr(eq + 1, semi - eq - 1);
  }
};

void expect_security_headers(const HttpResponse& r) {
  auto csp = header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
}

}  // namespace

TEST_F(UiRoutesTest, AssetsAreEmbeddedAndServedWithSecurityHeaders) {
  for (const char* p : {"index.html", "login.html", "app.css", "js/app.js", "vendor/uPlot.iife.min.js"})
    EXPECT_NE(find_embedded("ui", p), nullptr) << p;
  auto page = call(make_req("GET", "/ui/login"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("login-form"), std::string::npos);
  expect_security_headers(page);
  auto js = call(make_req("GET", "/ui/js/app.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_NE(js.content_type.find("text/javascript"), std::string::npos);
  expect_security_headers(js);
  auto missing = call(make_req("GET", "/ui/nope.js"));
  EXPECT_EQ(missing.status, 404);
  expect_security_headers(missing);
  EXPECT_EQ(call(make_req("GET", "/ui/../CMakeLists.txt")).status, 404);
  EXPECT_EQ(call(make_req("GET", "/ui/js/../index.html")).status, 404);
}

TEST_F(UiRoutesTest, NoInlineScriptsOrStylesInPages) {
  // The CSP forbids them; a page that used them would silently break.
  for (const char* p : {"index.html", "login.html"}) {
    const auto* f = find_embedded("ui", p);
    ASSERT_NE(f, nullptr);
    std::string s(f->data, f->size);
    EXPECT_EQ(s.find("<style"), std::string::npos) << p;
    EXPECT_EQ(s.find("style=\""), std::string::npos) << p;
    EXPECT_FALSE(std::regex_search(s, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase))) << p << ": inline handler";
    size_t pos = 0;
    while ((pos = s.find("<script", pos)) != std::string::npos) {
      auto end = s.find('>', pos);
      EXPECT_NE(s.substr(pos, end - pos).find("src="), std::string::npos) << p << ": inline script";
      pos = end;
    }
  }
}

TEST_F(UiRoutesTest, RootRedirectsToLoginWithoutSession) {
  auto r = call(make_req("GET", "/ui/"));
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(header(r, "Location"), "/ui/login");
  EXPECT_EQ(header(call(make_req("GET", "/ui")), "Location"), "/ui/");
  EXPECT_EQ(call(make_req("GET", "/ui/api/session")).status, 401);
}

TEST_F(UiRoutesTest, LoginSessionLogoutFlow) {
  auto bad = login(R"({"username":"admin","password":"nope"})");
  EXPECT_EQ(bad.status, 401);
  EXPECT_TRUE(header(bad, "Set-Cookie").empty());
  EXPECT_EQ(bad.body.find(kMaster), std::string::npos);

  auto ok = login(R"({"username":"admin","password":"sk-master-1234"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  expect_security_headers(ok);
  EXPECT_EQ(ok.body.find(kMaster), std::string::npos);  // never echoed
  auto id = cookie_of(ok);
  EXPECT_EQ(id.size(), 64u);
  auto j = nlohmann::json::parse(ok.body);
  std::string csrf = j["csrf_token"];

  auto shell = call(with_cookie(make_req("GET", "/ui/"), id));
  EXPECT_EQ(shell.status, 200);
  EXPECT_NE(shell.body.find("js/app.js"), std::string::npos);
  EXPECT_EQ(shell.body.find(kMaster), std::string::npos);

  auto sess = call(with_cookie(make_req("GET", "/ui/api/session"), id));
  ASSERT_EQ(sess.status, 200);
  EXPECT_EQ(nlohmann::json::parse(sess.body)["csrf_token"], csrf);
  EXPECT_EQ(header(sess, "Cache-Control"), "no-store");

  // Logout without the CSRF token is refused; with it, the session is gone.
  auto lo = with_cookie(make_req("POST", "/ui/logout"), id);
  lo.headers.emplace_back("origin", kOrigin);
  EXPECT_EQ(call(lo).status, 403);
  lo.headers.emplace_back("x-csrf-token", csrf);
  auto out = call(lo);
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(header(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call(with_cookie(make_req("GET", "/ui/api/session"), id)).status, 401);
  Errc err = Errc::ok;
  EXPECT_FALSE(m->authorize(with_cookie(make_req("GET", "/llmgate/api/logs"), id), err));
}

TEST_F(UiRoutesTest, CrossOriginLoginIsRejected) {
  EXPECT_EQ(login(R"({"username":"admin","password":"sk-master-1234"})", "http://evil.example").status, 403);
  EXPECT_EQ(login(R"({"username":"admin","password":"sk-master-1234"})", nullptr).status, 403);
  EXPECT_EQ(m->size(), 0u);
}

TEST_F(UiRoutesTest, FormEncodedLoginWorks) {
  auto r = make_req("POST", "/ui/login");
  r.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
  r.headers.emplace_back("origin", kOrigin);
  r.body = "username=admin&password=sk-master-1234";
  EXPECT_EQ(call(r).status, 200);
}

TEST_F(UiRoutesTest, LockoutAnswers429WithRetryAfter) {
  HttpResponse last;
  for (int i = 0; i < 6; ++i) last = login(R"({"username":"admin","password":"x"})", kOrigin, "10.9.9.9");
  EXPECT_EQ(last.status, 429);
  EXPECT_FALSE(header(last, "Retry-After").empty());
  EXPECT_GE(std::stoi(header(last, "Retry-After")), 1);
  EXPECT_EQ(login(R"({"username":"admin","password":"sk-master-1234"})", kOrigin, "10.9.9.9").status, 429);
}

TEST(UiAssets, DashboardScriptsNeverParseHtml) {
  // Untrusted text must only reach the page as text: no HTML-parsing sinks in our scripts.
  std::size_t n = 0;
  const EmbeddedFile* files = llmgate_embedded_ui(&n);
  std::size_t scripts = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view path = files[i].path;
    if (path.substr(0, 3) != "js/") continue;
    ++scripts;
    std::string s(files[i].data, files[i].size);
    for (const char* sink : {".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                             "new Function", "createContextualFragment", "DOMParser"})
      EXPECT_EQ(s.find(sink), std::string::npos) << path << " uses " << sink;
  }
  EXPECT_GE(scripts, 8u);
}
