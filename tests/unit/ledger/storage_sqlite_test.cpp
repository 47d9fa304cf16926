// The SQLite backend's schema owner: databases written before every table had one version (a
// version 2 ledger file, with or without the keys and models tables the key store and the model
// store used to create themselves) open with their keys, models and rows.
#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "admin/ledger_api.hpp"
#include "ledger/sqlite/schema.hpp"
#include "llmgate/model_store.hpp"
#include "llmgate/storage.hpp"
#include "store_test_util.hpp"

namespace llmgate {
namespace {

using json = nlohmann::json;
using testing_store::make_record;
using testing_store::TempDir;

LedgerSettings sqlite_settings(const TempDir& dir) {
  LedgerSettings s;
  s.database_path = dir.file("old.db");
  s.batch_write_at_s = 0.05;
  return s;
}

// The file as the previous build left it: ledger rows, a key and a model, user_version 2.
void write_version_two_file(const TempDir& dir, bool with_keys_and_models) {
  {
    auto st = open_storage(sqlite_settings(dir));
    StoredKey k;
    k.hash = std::string(64, 'a');
    k.key_name = "sk-...aaaa";
    k.key_alias = "old";
    k.created_us = k.updated_us = 1;
    st->keys->insert(k);
    st->keys->write_spend({{k.hash, 3.5}});
    st->models->insert(StoredModel{"m-1", "gpt", json{{"model_name", "gpt"}}, 1, 1});
    for (int i = 0; i < 4; ++i) st->ledger->submit(make_record(i));
    st->ledger->shutdown();
  }
  SQLite::Database db(dir.file("old.db"), SQLite::OPEN_READWRITE);
  if (!with_keys_and_models) {
    db.exec("DROP TABLE llmgate_keys");
    db.exec("DROP TABLE llmgate_models");
  }
  db.exec("PRAGMA user_version=2");
}

TEST(StorageSqlite, VersionTwoFileKeepsKeysModelsAndRows) {
  TempDir dir;
  write_version_two_file(dir, true);
  auto st = open_storage(sqlite_settings(dir));
  EXPECT_EQ(st->schema_version, store::kSchemaVersion);
  const auto keys = st->keys->load_all();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].key_alias, "old");
  EXPECT_DOUBLE_EQ(keys[0].spend, 3.5);
  ASSERT_EQ(st->models->all().size(), 1u);
  EXPECT_EQ(st->models->all()[0].id, "m-1");
  EXPECT_EQ(admin::ledger_query(*st->ledger, "logs", {})["data"].size(), 4u);
}

TEST(StorageSqlite, VersionTwoLedgerWithoutKeyTablesGetsThem) {
  TempDir dir;
  write_version_two_file(dir, false);
  auto st = open_storage(sqlite_settings(dir));
  EXPECT_EQ(st->schema_version, store::kSchemaVersion);
  EXPECT_TRUE(st->keys->load_all().empty());
  EXPECT_TRUE(st->models->all().empty());
  EXPECT_EQ(admin::ledger_query(*st->ledger, "logs", {})["data"].size(), 4u);
  StoredKey k;
  k.hash = std::string(64, 'b');
  k.key_name = "sk-...bbbb";
  st->keys->insert(k);
  EXPECT_EQ(st->keys->load_all().size(), 1u);
}

TEST(StorageSqlite, NewerSchemaIsRefused) {
  TempDir dir;
  {
    SQLite::Database db(dir.file("old.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA user_version=" + std::to_string(store::kSchemaVersion + 1));
  }
  try {
    open_storage(sqlite_settings(dir));
    ADD_FAILURE() << "opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this llmgate understands"), std::string::npos) << e.what();
  }
}

// Runtime models are read from the database the settings name by URL, not only by file path.
TEST(StorageSqlite, MergeDbModelsOpensTheDatabaseUrl) {
  TempDir dir;
  LedgerSettings by_url;
  by_url.database_url = "sqlite:///" + dir.file("models.db");
  open_model_repository(by_url)->insert(
      StoredModel{"m-1", "gpt",
                  json{{"model_name", "gpt"},
                       {"litellm_params", {{"model", "openai/gpt-4o"}, {"api_key", "sk-test"}}},
                       {"model_info", {{"id", "m-1"}}}},
                  1, 1});
  Config file;
  file.store_model_in_db = true;
  auto merged = merge_db_models(file, by_url);
  ASSERT_EQ(merged->deployments.size(), 1u) << (merged->warnings.empty() ? "" : merged->warnings[0]);
  EXPECT_EQ(merged->deployments[0].id, "m-1");
}

}  // namespace
}  // namespace llmgate
