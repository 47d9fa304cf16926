#pragma once
// The ledger's HTTP face, backend-neutral: query parameters -> LedgerReader filters (with the
// 400 messages the routes send) and reader rows -> the JSON the routes send. Private to
// src/admin (and its tests).
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "llmgate/ledger.hpp"
#include "llmgate/ledger_reader.hpp"

namespace llmgate::admin {

using QueryParams = std::multimap<std::string, std::string>;

// Parameter parsing (ledger_params.cpp). Throw std::invalid_argument naming the parameter.
LogFilter parse_log_filter(const QueryParams& p);
SpendLogFilter parse_spend_log_filter(const QueryParams& p);
UsageFilter parse_usage_filter(const QueryParams& p);
// start/end (unix seconds or dates); default: the last day.
LedgerTimeRange parse_time_range(const QueryParams& p);

// JSON building (ledger_json.cpp).
nlohmann::json log_page_json(const LogPage& page);
nlohmann::json log_detail_json(const LogDetail& d);
nlohmann::json spend_logs_json(const std::vector<SpendLogRow>& rows);
nlohmann::json usage_json(const UsageFilter& f, const std::vector<UsagePoint>& series);
nlohmann::json summary_json(const LedgerTimeRange& r, const UsageSummary& s);
nlohmann::json stats_json(const LedgerDbStats& db, const LedgerStats& writer);
nlohmann::json global_spend_json(double spend);

// The JSON answer of the ledger query `name` ("logs", "log", "spend_logs", "usage", "summary",
// "stats", "global_spend"): parameters -> reader -> JSON. Throws std::invalid_argument for bad
// parameters or an unknown name, std::runtime_error when the database is unavailable.
nlohmann::json ledger_query(Ledger& ledger, const std::string& name, const QueryParams& p);

}  // namespace llmgate::admin
