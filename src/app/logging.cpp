// Process logging: an asynchronous spdlog logger on stdout, text or JSON lines, UTC times.
#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "app/logging.hpp"

namespace llmgate {

namespace {

// spdlog flag %*: the message as a JSON string (quoted and escaped).
class JsonEscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string s = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedPayload>(); }
};

}  // namespace

void setup_logging(bool json) {
  // 512 slots: spdlog allocates (and touches) every slot up front, ~400 bytes each, so 8,192
  // slots were 3.2 MB of idle RSS. Nothing logs through spdlog per request (the one-line
  // request log is buffered per worker, the ledger records requests), and the logging thread
  // drains as lines come, so 512 queued lines means stdout itself is stuck; then the oldest go.
  spdlog::init_thread_pool(512, 1);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto logger = std::make_shared<spdlog::async_logger>("llmgate", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  // UTC timestamps in both formats; in JSON the message is escaped (%*), so every line parses.
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonEscapedPayload>('*');
  formatter->set_pattern(json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"message":%*})"
                              : "%Y-%m-%dT%H:%M:%S.%e %l [%t] %v");
  logger->set_formatter(std::move(formatter));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

}  // namespace llmgate
