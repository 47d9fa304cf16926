#pragma once
// Helpers for the ledger tests: temp directories and realistic records.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "ledger/sqlite/sqlite_ledger.hpp"
#include "llmgate/ledger.hpp"

namespace llmgate::testing_store {

inline int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "llmgate-ledger-XXXXXX").string();
    char* p = ::mkdtemp(t.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline LedgerSettings settings_for(const std::string& db_path) {
  LedgerSettings s;
  s.database_path = db_path;
  s.batch_write_at_s = 0.05;
  return s;
}

inline std::unique_ptr<store::SqliteLedger> open_ledger(const LedgerSettings& s) {
  return std::unique_ptr<store::SqliteLedger>(static_cast<store::SqliteLedger*>(Ledger::open(s).release()));
}

inline RequestRecord make_record(int i, int64_t start_us = 0) {
  RequestRecord r;
  r.request_id = "req-" + std::to_string(i);
  r.endpoint = "/v1/chat/completions";
  r.start_us = start_us ? start_us : now_us() - 1000000;
  r.first_byte_us = r.start_us + 120000;
  r.end_us = r.start_us + 250000 + (i % 7) * 1000;
  r.ttft_us = 110000;
  r.upstream_us = 240000;
  r.overhead_us = 900;
  r.model = i % 2 ? "gpt-4o" : "llama";
  r.model_group = r.model;
  r.deployment_id = r.model + "-0";
  r.provider = i % 2 ? "openai" : "ollama";
  r.upstream_model = i % 2 ? "gpt-4o-2024-08-06" : "llama3";
  r.api_base = "http://127.0.0.1:9999/v1";
  r.key_hash = i % 3 ? "abcdef0123456789" : "fedcba9876543210";
  r.key_alias = i % 3 ? "team-a" : "team-b";
  r.user = "user-" + std::to_string(i % 5);
  r.client_ip = "10.0.0.1";
  r.status = i % 10 == 9 ? 502 : 200;
  if (r.status != 200) {
    r.error_type = "api_error";
    r.error_message = "upstream connection refused";
  }
  r.prompt_tokens = 10 + i % 13;
  r.completion_tokens = 20 + i % 17;
  r.total_tokens = r.prompt_tokens + r.completion_tokens;
  r.cost_usd = i % 4 == 3 ? std::nullopt : std::optional<double>(0.0001 * (1 + i % 3));
  r.stream = i % 2 == 0;
  r.cache_hit = i % 8 == 0;
  r.request_body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello number )" + std::to_string(i) +
                   R"("}]})";
  r.response_body = R"({"choices":[{"message":{"content":"general kenobi"}}]})";
  return r;
}

}  // namespace llmgate::testing_store
