#pragma once
// The schema of every table of a SQLite database (ledger, virtual keys, runtime models) and its
// migrations (PRAGMA user_version). Private to src/ledger/sqlite (and sqlite_ledger).
#include <SQLiteCpp/Database.h>

#include <array>
#include <cstdint>

#include "llmgate/ledger_reader.hpp"

namespace llmgate::store {

constexpr int kSchemaVersion = 3;

// Latency histogram buckets of the rollup tables (llmgate/ledger_reader.hpp).
using llmgate::kLatencyBucketsMs;

// Applies every migration newer than the file's user_version inside one transaction.
// Throws SQLite::Exception. Writer thread (or open()).
void migrate(SQLite::Database& db);

// Connection pragmas: WAL, synchronous=NORMAL, busy_timeout, journal_size_limit.
void configure_connection(SQLite::Database& db, int busy_timeout_ms, bool writer);

// The full-text index holds the rows with text only (bodies or an error message; see
// has_fts_text in sqlite_ledger.cpp). The row count FTS5 keeps for the index (its "averages"
// record: the first varint of spend_logs_fts_data id 1; 0 when the index never held a row).
// It equals the number of spend_logs_fts_docsize rows in a sound index.
int64_t fts_row_count(SQLite::Database& db);

// Empties the full-text index and indexes again every row with text. Run inside a transaction.
void rebuild_fts(SQLite::Database& db);

}  // namespace llmgate::store
