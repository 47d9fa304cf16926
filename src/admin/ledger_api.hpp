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

// JSON building (ledger_json.cpp).
nlohmann::json log_page_json(const LogPage& page);
nlohmann::json log_detail_json(const LogDetail& d);
nlohmann::json spend_logs_json(const std::vector<SpendLogRow>& rows);

// The JSON answer of the ledger query `name` ("logs", "log", "spend_logs", "usage", "summary",
// "stats", "global_spend"): the typed reader where there is one, Ledger::query otherwise.
// Throws std::invalid_argument for bad parameters or an unknown name.
nlohmann::json ledger_query(Ledger& ledger, const std::string& name, const QueryParams& p);

}  // namespace llmgate::admin
