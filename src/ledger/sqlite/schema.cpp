#include "ledger/sqlite/schema.hpp"

#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <algorithm>
#include <string>

namespace llmgate::store {

namespace {

std::string rollup_table(const char* name) {
  std::string s = std::string("CREATE TABLE ") + name +
                  " ("
                  "t INTEGER NOT NULL,"  // bucket start, unix seconds
                  "model_group TEXT NOT NULL,"
                  "key_hash TEXT NOT NULL,"
                  "key_alias TEXT NOT NULL DEFAULT '',"
                  "requests INTEGER NOT NULL DEFAULT 0,"
                  "errors INTEGER NOT NULL DEFAULT 0,"
                  "prompt_tokens INTEGER NOT NULL DEFAULT 0,"
                  "completion_tokens INTEGER NOT NULL DEFAULT 0,"
                  "total_tokens INTEGER NOT NULL DEFAULT 0,"
                  "cost REAL NOT NULL DEFAULT 0,"
                  "cost_unknown INTEGER NOT NULL DEFAULT 0,"
                  "cache_hits INTEGER NOT NULL DEFAULT 0,"
                  "latency_ms_sum REAL NOT NULL DEFAULT 0,";
  for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
    s += 'b';  // appended piecewise: GCC 12 warns (-Wrestrict, wrongly) on "b" + to_string(i)
    s += std::to_string(i);
    s += " INTEGER NOT NULL DEFAULT 0,";
  }
  s += "PRIMARY KEY (t, model_group, key_hash)) WITHOUT ROWID";
  return s;
}

void migrate_v1(SQLite::Database& db) {
  db.exec(
      "CREATE TABLE spend_logs ("
      " id INTEGER PRIMARY KEY,"  // rowid: keyset pagination, retention ranges
      " request_id TEXT NOT NULL,"
      " call_type TEXT NOT NULL DEFAULT '',"  // endpoint, e.g. /v1/chat/completions
      " api_key TEXT NOT NULL DEFAULT '',"    // sha256 hex (prefix) of the key, never the key
      " key_alias TEXT NOT NULL DEFAULT '',"
      " spend REAL,"  // USD; NULL when the price is unknown
      " total_tokens INTEGER NOT NULL DEFAULT 0,"
      " prompt_tokens INTEGER NOT NULL DEFAULT 0,"
      " completion_tokens INTEGER NOT NULL DEFAULT 0,"
      " cached_tokens INTEGER NOT NULL DEFAULT 0,"
      " reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
      " tokens_estimated INTEGER NOT NULL DEFAULT 0,"
      " startTime INTEGER NOT NULL,"  // unix microseconds
      " endTime INTEGER NOT NULL,"
      " completionStartTime INTEGER NOT NULL DEFAULT 0,"  // first byte to the client, 0 = none
      " ttft_us INTEGER NOT NULL DEFAULT 0,"
      " upstream_us INTEGER NOT NULL DEFAULT 0,"
      " overhead_us INTEGER NOT NULL DEFAULT 0,"
      " model TEXT NOT NULL DEFAULT '',"        // requested alias as sent
      " model_group TEXT NOT NULL DEFAULT '',"  // configured alias, '' when unknown
      " model_id TEXT NOT NULL DEFAULT '',"     // deployment id
      " custom_llm_provider TEXT NOT NULL DEFAULT '',"
      " upstream_model TEXT NOT NULL DEFAULT '',"
      " api_base TEXT NOT NULL DEFAULT '',"
      " \"user\" TEXT NOT NULL DEFAULT '',"
      " requester_ip_address TEXT NOT NULL DEFAULT '',"
      " status_code INTEGER NOT NULL DEFAULT 0,"
      " status TEXT NOT NULL DEFAULT '',"  // 'success' | 'failure' (LiteLLM)
      " error_type TEXT NOT NULL DEFAULT '',"
      " error_message TEXT NOT NULL DEFAULT '',"
      " stream INTEGER NOT NULL DEFAULT 0,"
      " cache_hit INTEGER NOT NULL DEFAULT 0,"
      " retries INTEGER NOT NULL DEFAULT 0,"
      " fallback_from TEXT NOT NULL DEFAULT '',"
      " messages TEXT NOT NULL DEFAULT '',"  // request body (capped, valid UTF-8)
      " response TEXT NOT NULL DEFAULT '',"  // response body (capped, valid UTF-8)
      " request_truncated INTEGER NOT NULL DEFAULT 0,"
      " response_truncated INTEGER NOT NULL DEFAULT 0,"
      " metadata TEXT NOT NULL DEFAULT '{}'"
      ")");
  db.exec("CREATE UNIQUE INDEX spend_logs_request_id ON spend_logs(request_id)");
  db.exec("CREATE INDEX spend_logs_time ON spend_logs(startTime)");
  // The trailing columns let SQLite test the other filters from the index alone (deferred seek):
  // a model+key+status search over days does not fetch the (large) rows that do not match.
  db.exec("CREATE INDEX spend_logs_model_time ON spend_logs(model, startTime, status_code, api_key)");
  db.exec("CREATE INDEX spend_logs_key_time ON spend_logs(api_key, startTime, status_code, model)");
  db.exec("CREATE INDEX spend_logs_error_time ON spend_logs(startTime) WHERE status_code >= 400");
  db.exec("CREATE INDEX spend_logs_user_time ON spend_logs(\"user\", startTime) WHERE \"user\" <> ''");
  db.exec(
      "CREATE VIRTUAL TABLE spend_logs_fts USING fts5(messages, response, error_message,"
      " content='spend_logs', content_rowid='id')");
  // Rollups (maintained in the batch's transaction). One dimension per table keeps charts cheap:
  // an hour holds one row per model (key_hash '') or per key (model_group ''), not their product.
  // usage_daily keeps the model x key product per day for finer reports.
  for (const char* t :
       {"usage_hourly_model", "usage_hourly_key", "usage_daily_model", "usage_daily_key", "usage_daily"})
    db.exec(rollup_table(t));
  db.exec("CREATE INDEX usage_daily_key_hash ON usage_daily_key(key_hash)");
  db.exec("CREATE INDEX usage_daily_key_alias ON usage_daily_key(key_alias)");
  db.exec("CREATE TABLE ledger_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID");
  db.exec("INSERT INTO ledger_meta(k, v) VALUES ('spend_logs_rows', 0)");
  // The full-text index is sound from the start (SqliteLedger::verify_fts_once).
  db.exec("INSERT INTO ledger_meta(k, v) VALUES ('fts_checked', 1)");
}

// Every list is bounded by startTime, and start times grow, so each row's insert appends to
// spend_logs_start; its columns after (startTime, id) let SQLite test a model, key, status or
// user filter from the index alone and fetch only the matching rows (deferred seek), and id
// keeps the index in page order (ORDER BY startTime DESC, id DESC without a sort). It replaces
// the plain time, per-model, error and user indexes: each but the first took a descent to a
// page in the middle per row, and the user index alone (500 users) cost ~5 us per row, mostly
// in the pages each batch dirtied. The key index stays: a key filter over a week of rows is
// the dashboard's rarest, and scanning for it took ~220 ms at 1M rows (6 ms with the index).
void migrate_v2(SQLite::Database& db) {
  for (const char* i : {"spend_logs_time", "spend_logs_model_time", "spend_logs_error_time", "spend_logs_user_time"})
    db.exec(std::string("DROP INDEX IF EXISTS ") + i);
  db.exec(
      "CREATE INDEX spend_logs_start ON spend_logs(startTime, id, status_code, model, api_key,"
      " \"user\")");
}

// Virtual keys and runtime models. IF NOT EXISTS: databases made before version 3 already have
// them (each component created its own table then).
void migrate_v3(SQLite::Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS llmgate_keys ("
      " token TEXT PRIMARY KEY,"         // SHA-256 hex of the key; never the key itself
      " key_name TEXT NOT NULL,"         // "sk-...abcd"
      " key_alias TEXT,"                 // NULL = none; unique when set
      " spend REAL NOT NULL DEFAULT 0,"  // USD, persisted about once a second
      " max_budget REAL,"                // NULL = unlimited
      " models TEXT NOT NULL DEFAULT '[]',"
      " rpm_limit INTEGER,"
      " tpm_limit INTEGER,"
      " expires_us INTEGER,"  // unix microseconds; NULL = never
      " blocked INTEGER NOT NULL DEFAULT 0,"
      " metadata TEXT NOT NULL DEFAULT '{}',"
      " user_id TEXT,"
      " team_id TEXT,"
      " created_us INTEGER NOT NULL,"
      " updated_us INTEGER NOT NULL"
      ")");
  db.exec(
      "CREATE UNIQUE INDEX IF NOT EXISTS llmgate_keys_alias ON llmgate_keys(key_alias)"
      " WHERE key_alias IS NOT NULL");
  db.exec(
      "CREATE TABLE IF NOT EXISTS llmgate_models ("
      " id TEXT PRIMARY KEY,"  // model_info.id
      " model_name TEXT NOT NULL,"
      " body TEXT NOT NULL,"  // {"model_name","litellm_params","model_info"}
      " created_us INTEGER NOT NULL,"
      " updated_us INTEGER NOT NULL"
      ")");
}

}  // namespace

// Before any connection opens (static initialisation): SQLite's memory statistics take a global
// mutex on every allocation in every connection, and nothing here reads them (the ledger writer
// spent ~2% of its time in that mutex).
const int kSqliteLibraryConfigured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

void configure_connection(SQLite::Database& db, int busy_timeout_ms, bool writer) {
  db.setBusyTimeout(busy_timeout_ms);
  if (writer) {
    // A new database gets 16 KiB pages (an existing one keeps its own): fewer B-tree splits and
    // page headers per row; the writer bench's CPU per row went down ~10% with and without
    // bodies against 4 KiB.
    db.exec("PRAGMA page_size=16384");
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA journal_size_limit=67108864");  // WAL truncated to 64 MiB after checkpoints
    // ~16 MiB of pages between passive checkpoints, whatever the file's page size.
    const int page = db.execAndGet("PRAGMA page_size").getInt();
    db.exec("PRAGMA wal_autocheckpoint=" + std::to_string((16 << 20) / std::max(page, 512)));
  }
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA temp_store=MEMORY");
  // Page cache per connection. The writer only appends (the right edges of the B-trees stay
  // hot), so 8 MiB is plenty and keeps the gateway's RSS small; dashboard readers scan more.
  db.exec(writer ? "PRAGMA cache_size=-8000" : "PRAGMA cache_size=-16000");
  if (!writer) db.exec("PRAGMA query_only=1");
}

void migrate(SQLite::Database& db) {
  int v = db.execAndGet("PRAGMA user_version").getInt();
  if (v > kSchemaVersion)
    throw SQLite::Exception("database schema version " + std::to_string(v) +
                            " is newer than this llmgate understands (" + std::to_string(kSchemaVersion) + ")");
  if (v == kSchemaVersion) return;
  SQLite::Transaction tx(db);
  if (v < 1) migrate_v1(db);
  if (v < 2) migrate_v2(db);
  if (v < 3) migrate_v3(db);
  db.exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
  tx.commit();
}

int64_t fts_row_count(SQLite::Database& db) {
  SQLite::Statement q(db, "SELECT block FROM spend_logs_fts_data WHERE id = 1");
  if (!q.executeStep()) return 0;
  const auto* p = static_cast<const unsigned char*>(q.getColumn(0).getBlob());
  const int n = q.getColumn(0).getBytes();
  // SQLite's varint: big-endian groups of 7 bits, high bit set on all but the last; a ninth
  // byte carries 8 bits.
  uint64_t v = 0;
  for (int i = 0; i < n && i < 9; ++i) {
    if (i == 8) {
      v = (v << 8) | p[i];
      break;
    }
    v = (v << 7) | (p[i] & 0x7f);
    if (!(p[i] & 0x80)) break;
  }
  return static_cast<int64_t>(v);
}

void rebuild_fts(SQLite::Database& db) {
  // Not FTS5's 'rebuild': that indexes every row, the empty ones too.
  db.exec("INSERT INTO spend_logs_fts (spend_logs_fts) VALUES ('delete-all')");
  db.exec(
      "INSERT INTO spend_logs_fts (rowid, messages, response, error_message)"
      " SELECT id, messages, response, error_message FROM spend_logs"
      " WHERE messages <> '' OR response <> '' OR error_message <> '' ORDER BY id");
}

}  // namespace llmgate::store
