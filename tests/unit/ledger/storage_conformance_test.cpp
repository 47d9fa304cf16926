// The storage seam's contract, run against every backend (one INSTANTIATE per backend URL):
// key and model repositories round trip, the ledger's rows come back through its queries, the
// schema version is recorded, and an existing database reopens with everything in it.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "llmgate/clock.hpp"
#include "llmgate/ledger_reader.hpp"
#include "llmgate/storage.hpp"
#include "store_test_util.hpp"

namespace llmgate {
namespace {

using json = nlohmann::json;
using testing_store::make_record;
using testing_store::TempDir;

// A backend under test: its name (the test name's suffix) and the database_url of a fresh,
// empty database for one test.
struct BackendCase {
  std::string name;
  std::function<std::string(const TempDir&)> url;
};

void PrintTo(const BackendCase& c, std::ostream* os) { *os << c.name; }

// The request list of the last day, `limit` rows a page.
LogFilter recent(int64_t limit) {
  LogFilter f;
  f.range.end_us = now_unix_us() + 1;
  f.range.start_us = f.range.end_us - 86400LL * 1000000;
  f.limit = limit;
  return f;
}

class StorageConformance : public ::testing::TestWithParam<BackendCase> {
 protected:
  LedgerSettings settings() const {
    LedgerSettings s;
    s.database_url = GetParam().url(dir_);
    s.batch_write_at_s = 0.05;
    return s;
  }
  std::unique_ptr<Storage> open() { return open_storage(settings()); }

  TempDir dir_;
};

StoredKey key(const std::string& hash, const std::string& alias) {
  StoredKey k;
  k.hash = hash;
  k.key_name = "sk-...abcd";
  k.key_alias = alias;
  k.max_budget = 12.5;
  k.models = {"gpt-4o", "llama"};
  k.rpm_limit = 60;
  k.metadata = json{{"team", "search"}};
  k.user_id = "u1";
  k.created_us = 1'700'000'000'000'000;
  k.updated_us = k.created_us;
  return k;
}

const StoredKey* find_key(const std::vector<StoredKey>& keys, const std::string& hash) {
  for (const auto& k : keys)
    if (k.hash == hash) return &k;
  return nullptr;
}

TEST_P(StorageConformance, KeyRepositoryRoundTrip) {
  const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
  {
    auto st = open();
    ASSERT_TRUE(st->keys);
    EXPECT_TRUE(st->keys->load_all().empty());
    st->keys->insert(key(a, "alpha"));
    st->keys->insert(key(b, ""));
    st->keys->insert(key(c, "gamma"));
    StoredKey upd = key(a, "alpha-2");
    upd.blocked = true;
    upd.max_budget.reset();
    upd.tpm_limit = 1000;
    upd.expires_us = 1'800'000'000'000'000;
    upd.updated_us += 5;
    st->keys->update(upd);
    st->keys->remove({c, std::string(64, 'f')});  // an unknown hash is ignored
    st->keys->write_spend({{a, 1.25}, {b, 0.5}});
    st->ledger->shutdown();
  }
  auto st = open();  // reload from the database
  const auto keys = st->keys->load_all();
  ASSERT_EQ(keys.size(), 2u);
  const StoredKey* ka = find_key(keys, a);
  ASSERT_NE(ka, nullptr);
  EXPECT_EQ(ka->key_alias, "alpha-2");
  EXPECT_TRUE(ka->blocked);
  EXPECT_FALSE(ka->max_budget);
  EXPECT_EQ(ka->tpm_limit, 1000);
  EXPECT_EQ(ka->rpm_limit, 60);
  EXPECT_EQ(ka->expires_us, 1'800'000'000'000'000);
  EXPECT_EQ(ka->updated_us, ka->created_us + 5);
  EXPECT_DOUBLE_EQ(ka->spend, 1.25);
  EXPECT_EQ(ka->models, (std::vector<std::string>{"gpt-4o", "llama"}));
  EXPECT_EQ(ka->metadata, (json{{"team", "search"}}));
  const StoredKey* kb = find_key(keys, b);
  ASSERT_NE(kb, nullptr);
  EXPECT_EQ(kb->key_alias, "");
  EXPECT_DOUBLE_EQ(kb->spend, 0.5);
  EXPECT_EQ(kb->max_budget, 12.5);
  EXPECT_EQ(find_key(keys, c), nullptr);
}

TEST_P(StorageConformance, KeyAliasIsUnique) {
  auto st = open();
  st->keys->insert(key(std::string(64, 'a'), "same"));
  EXPECT_THROW(st->keys->insert(key(std::string(64, 'b'), "same")), std::runtime_error);
  EXPECT_THROW(st->keys->insert(key(std::string(64, 'a'), "other")), std::runtime_error);
  EXPECT_EQ(st->keys->load_all().size(), 1u);
}

TEST_P(StorageConformance, ModelRepositoryRoundTrip) {
  StoredModel m1{"m-1", "gpt", json{{"model_name", "gpt"}, {"litellm_params", {{"model", "openai/gpt-4o"}}}}, 10, 10};
  StoredModel m2{"m-2", "llama", json{{"model_name", "llama"}}, 5, 5};
  {
    auto st = open();
    ASSERT_TRUE(st->models);
    EXPECT_TRUE(st->models->all().empty());
    st->models->insert(m1);
    st->models->insert(m2);
    m1.model_name = "gpt-2";
    m1.body["model_name"] = "gpt-2";
    m1.updated_us = 20;
    st->models->update(m1);
    EXPECT_FALSE(st->models->get("nope"));
    EXPECT_FALSE(st->models->remove("nope"));
    st->ledger->shutdown();
  }
  auto models = open_model_repository(settings());  // the repository alone, reopened
  const auto all = models->all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "m-2");  // oldest first
  EXPECT_EQ(all[1].id, "m-1");
  auto got = models->get("m-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->model_name, "gpt-2");
  EXPECT_EQ(got->body, m1.body);
  EXPECT_EQ(got->created_us, 10);
  EXPECT_EQ(got->updated_us, 20);
  EXPECT_TRUE(models->remove("m-2"));
  EXPECT_EQ(models->all().size(), 1u);
}

TEST_P(StorageConformance, LedgerRowsComeBackThroughQueries) {
  auto st = open();
  for (int i = 0; i < 20; ++i) st->ledger->submit(make_record(i));
  st->ledger->shutdown();  // flushes everything queued
  EXPECT_EQ(st->ledger->stats().written, 20u);

  LedgerReader& reader = st->ledger->reader();
  EXPECT_EQ(reader.logs(recent(200)).rows.size(), 20u);
  LogFilter by_model = recent(200);
  by_model.model = "gpt-4o";
  EXPECT_EQ(reader.logs(by_model).rows.size(), 10u);
  LogFilter failed = recent(50);
  failed.status = StatusClass::server_5xx;
  EXPECT_EQ(reader.logs(failed).rows.size(), 2u);
  LogFilter by_key = recent(200);
  by_key.key = "team-b";                           // a key alias
  EXPECT_EQ(reader.logs(by_key).rows.size(), 7u);  // 0, 3, ..., 18
  LogFilter text = recent(200);
  text.text = "refused";
  EXPECT_EQ(reader.logs(text).rows.size(), 2u);  // the two 502s' error message
  LogFilter paged = recent(5);
  const LogPage page = reader.logs(paged);
  EXPECT_EQ(page.rows.size(), 5u);
  ASSERT_TRUE(page.next.has_value());
  paged.cursor = page.next;
  const LogPage next = reader.logs(paged);
  EXPECT_EQ(next.rows.size(), 5u);
  EXPECT_NE(next.rows[0].request_id, page.rows[0].request_id);

  const auto one = reader.log("req-9");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->request_id, "req-9");
  EXPECT_EQ(one->status, 502);
  EXPECT_FALSE(reader.log("req-missing").has_value());

  SpendLogFilter spend;
  spend.range = recent(1).range;
  EXPECT_EQ(reader.spend_logs(spend).size(), 20u);
  spend.key_hash = "fedcba9876543210";
  EXPECT_EQ(reader.spend_logs(spend).size(), 7u);
  SpendLogFilter by_id;
  by_id.request_id = "req-4";
  const auto rows = reader.spend_logs(by_id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].request_id, "req-4");

  UsageFilter by_hour;
  by_hour.range = recent(1).range;
  int64_t in_series = 0;
  for (const auto& pt : reader.usage(by_hour)) in_series += pt.figures.requests;
  EXPECT_EQ(in_series, 20);
  by_hour.group_by = UsageGroupBy::model;
  const auto per_model = reader.usage(by_hour);
  ASSERT_FALSE(per_model.empty());
  EXPECT_TRUE(per_model[0].group == "gpt-4o" || per_model[0].group == "llama");
  const UsageSummary summary = reader.summary(recent(1).range);
  EXPECT_EQ(summary.totals.requests, 20);
  EXPECT_EQ(summary.totals.errors, 2);
  EXPECT_EQ(summary.by_model.size(), 2u);
  EXPECT_EQ(summary.by_key.size(), 2u);
  EXPECT_GT(reader.total_spend(), 0.0);
  const LedgerDbStats db = reader.db_stats();
  ASSERT_FALSE(db.rows.empty());
  EXPECT_EQ(db.rows[0].table, "spend_logs");
  EXPECT_EQ(db.rows[0].rows, 20);
}

TEST_P(StorageConformance, SchemaVersionIsRecordedAndReopenKeepsEverything) {
  int version = 0;
  {
    auto st = open();
    version = st->schema_version;
    EXPECT_GT(version, 0);
    st->keys->insert(key(std::string(64, 'a'), "kept"));
    st->models->insert(StoredModel{"m-1", "gpt", json{{"model_name", "gpt"}}, 1, 1});
    for (int i = 0; i < 3; ++i) st->ledger->submit(make_record(i));
    st->ledger->shutdown();
  }
  auto st = open();
  EXPECT_EQ(st->schema_version, version);
  EXPECT_EQ(st->keys->load_all().size(), 1u);
  EXPECT_EQ(st->models->all().size(), 1u);
  EXPECT_EQ(st->ledger->reader().logs(recent(50)).rows.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageConformance,
                         ::testing::Values(BackendCase{
                             "sqlite", [](const TempDir& d) { return "sqlite:///" + d.file("storage.db"); }}),
                         [](const ::testing::TestParamInfo<BackendCase>& i) { return i.param.name; });

// The registry: one place names the schemes.
TEST(StorageRegistry, PlainPathsAndSqliteUrlsAreSqlite) {
  std::string err;
  for (const char* url : {"", "./data/x.db", "/abs/x.db", "sqlite:///rel.db", "SQLITE:////abs.db"}) {
    const StorageBackend* b = find_storage_backend(url, err);
    ASSERT_NE(b, nullptr) << url;
    EXPECT_EQ(b->name, "sqlite") << url;
  }
}

TEST(StorageRegistry, PostgresIsAClearStartupError) {
  for (const char* url : {"postgresql://u:p@db/litellm", "postgres://db/x"}) {
    LedgerSettings s;
    s.database_url = url;
    try {
      open_storage(s);
      ADD_FAILURE() << url << " opened";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("PostgreSQL is not supported yet"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("u:p"), std::string::npos) << "no credentials";
    }
  }
}

TEST(StorageRegistry, UnknownSchemeNamesIt) {
  std::string err;
  EXPECT_EQ(find_storage_backend("mysql://db/x", err), nullptr);
  EXPECT_NE(err.find("'mysql://'"), std::string::npos) << err;
}

}  // namespace
}  // namespace llmgate
