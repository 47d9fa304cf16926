// ConfigReloader without sockets: what a reload publishes, what it keeps, what it refuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "server/reload.hpp"

using namespace llmgate;
namespace fs = std::filesystem;

namespace {

std::string temp_dir() {
  auto d = fs::temp_directory_path() / ("llmgate-reload-" + std::to_string(std::random_device{}()));
  fs::create_directories(d);
  return d.string();
}

std::string yaml(const std::string& aliases, const std::string& llmgate_settings = "") {
  std::string y = "model_list:\n";
  for (char a : aliases) y += std::string("  - model_name: ") + a + "\n    litellm_params:\n      model: mock/x\n";
  y += "general_settings:\n  database_url: \"sqlite:///ledger.db\"\n";
  if (!llmgate_settings.empty()) y += "llmgate_settings:\n" + llmgate_settings;
  return y;
}

struct Fixture {
  std::string dir = temp_dir();
  std::string path = dir + "/config.yaml";
  App app;
  std::unique_ptr<ConfigReloader> reloader;

  explicit Fixture(const std::string& first, ConfigOverrides ov = {}) {
    write(first);
    auto c = std::make_shared<Config>(load_config_file(path));
    c->ledger.database_path = dir + "/ledger.db";
    apply_overrides(*c, ov);
    app.set_config(c);
    reloader = std::make_unique<ConfigReloader>(app, path, ov, std::make_unique<PriceTable>(PriceTable::load()));
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& y) { std::ofstream(path) << y; }
};

}  // namespace

TEST(ConfigReload, PublishesANewSnapshotAndKeepsTheOldOneAlive) {
  Fixture f(yaml("a"));
  const auto before = f.app.config();
  const auto version = f.app.config_version();
  const PriceTable* table = f.app.prices.load();
  ASSERT_NE(table, nullptr);
  f.write(yaml("ab"));
  auto r = f.reloader->reload("test");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.models, 2u);
  EXPECT_TRUE(r.needs_restart.empty());
  EXPECT_FALSE(r.prices_reloaded);
  EXPECT_GT(f.app.config_version(), version);
  EXPECT_EQ(f.app.config()->find("b").size(), 1u);
  EXPECT_EQ(before->find("b").size(), 0u);  // a request holding the old snapshot still sees it whole
  EXPECT_EQ(f.app.prices.load(), table);    // the embedded table is not loaded again
  EXPECT_EQ(r.to_json(f.path)["status"], "ok");
}

TEST(ConfigReload, InvalidFileChangesNothing) {
  Fixture f(yaml("a"));
  const auto before = f.app.config();
  f.write(yaml("a") + "router_settings:\n  num_retries: lots\n");
  auto r = f.reloader->reload("test");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error.find("router_settings.num_retries"), std::string::npos) << r.error;
  EXPECT_EQ(f.app.config(), before);

  f.write(yaml("a", "  price_table: " + f.dir + "/missing-prices.json\n"));
  r = f.reloader->reload("test");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("llmgate_settings.price_table"), std::string::npos) << r.error;
  EXPECT_EQ(f.app.config(), before);

  fs::remove(f.path);
  r = f.reloader->reload("test");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cannot open"), std::string::npos) << r.error;
  EXPECT_EQ(f.app.config(), before);
}

TEST(ConfigReload, RestartOnlySettingsKeepTheirRunningValues) {
  Fixture f(yaml("a", "  port: 4000\n  workers: 3\n  drain_seconds: 5\n"), ConfigOverrides{"127.0.0.1", -1, -1});
  f.write(yaml("a", "  port: 4001\n  workers: 3\n  drain_seconds: 9\n  host: 0.0.0.0\n"));
  auto r = f.reloader->reload("test");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.needs_restart.size(), 1u);  // the host comes from the command line: no change
  EXPECT_EQ(r.needs_restart[0], "llmgate_settings.port: 4001 needs a restart; keeping 4000");
  const auto c = f.app.config();
  EXPECT_EQ(c->server.port, 4000);
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.drain_seconds, 9);  // reloadable
  EXPECT_EQ(c->ledger.database_path, f.dir + "/ledger.db");
}

TEST(ConfigReload, KeepRestartSettingsNamesEachDifference) {
  Config running, next;
  running.ledger.database_url = "sqlite:///a.db";
  next.ledger.database_url = "sqlite:///b.db";
  next.json_logs = true;
  next.server.connect_timeout_s = 9;
  next.num_retries = 4;  // reloadable: not named, not reverted
  auto out = keep_restart_settings(running, next);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], "llmgate_settings.connect_timeout_seconds: 9 needs a restart; keeping 5");
  EXPECT_EQ(out[1], "general_settings.database_url: the change needs a restart; keeping the running value");
  EXPECT_EQ(out[2], "litellm_settings.json_logs: true needs a restart; keeping false");
  EXPECT_EQ(next.ledger.database_url, "sqlite:///a.db");
  EXPECT_FALSE(next.json_logs);
  EXPECT_EQ(next.num_retries, 4);
}

TEST(ConfigReload, ReadsAChangedPriceTableAgain) {
  Fixture f(yaml("a"));
  const PriceTable* embedded = f.app.prices.load();
  const std::string prices = f.dir + "/prices.json";
  std::ofstream(prices) << R"({"gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}})";
  f.write(yaml("a", "  price_table: " + prices + "\n"));
  auto r = f.reloader->reload("test");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.prices_reloaded);
  const PriceTable* custom = f.app.prices.load();
  ASSERT_NE(custom, embedded);
  ASSERT_TRUE(custom->find(std::string("gpt-x")));
  EXPECT_EQ(custom->find(std::string("gpt-x"))->input_cost_per_token, 1e-6);

  // Unchanged file: the table is kept.
  r = f.reloader->reload("test");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.prices_reloaded);
  EXPECT_EQ(f.app.prices.load(), custom);

  // A broken table refuses the whole reload: config and prices stay.
  std::ofstream(prices) << "{not json, and longer than before";
  const auto before = f.app.config();
  f.write(yaml("ab", "  price_table: " + prices + "\n"));
  r = f.reloader->reload("test");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("llmgate_settings.price_table: price table: invalid JSON"), std::string::npos) << r.error;
  EXPECT_EQ(f.app.prices.load(), custom);
  EXPECT_EQ(f.app.config(), before);
}
