// The shared clocks, timestamps, SHA-256 and secret comparisons (include/llmgate/clock.hpp,
// include/llmgate/digest.hpp): one copy each, used by the keys, the ledger, the dashboard
// sessions and the request path.
#include <gtest/gtest.h>

#include <chrono>

#include "llmgate/clock.hpp"
#include "llmgate/digest.hpp"

using namespace llmgate;

TEST(Iso8601, MicrosecondsForTheLedgerMillisecondsForKeys) {
  const int64_t t = 1'700'000'000'123'456;  // 2023-11-14T22:13:20.123456Z
  EXPECT_EQ(iso8601_us(t), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(iso8601_ms(t), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(iso8601_us(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(iso8601_ms(999), "1970-01-01T00:00:00.000Z");
}

TEST(Iso8601, TimesBeforeTheEpochRoundDown) {
  EXPECT_EQ(iso8601_us(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(iso8601_ms(-1'000), "1969-12-31T23:59:59.999Z");
}

TEST(Clock, UnixTimesAgree) {
  const int64_t us = now_unix_us();
  const int64_t s = unix_seconds();
  EXPECT_GE(s, us / 1'000'000);
  EXPECT_LE(s - us / 1'000'000, 5);
  EXPECT_EQ(unix_seconds(std::chrono::system_clock::time_point(std::chrono::seconds(42))), 42);
}

TEST(Clock, SecondsKeepTheirFractions) {
  EXPECT_EQ(seconds_d(1.5), std::chrono::milliseconds(1500));
  EXPECT_EQ(seconds_d(0.001), std::chrono::milliseconds(1));
  EXPECT_EQ(seconds_d(0), std::chrono::steady_clock::duration::zero());
}

TEST(Sha256Hex, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SecretEquals, ComparesContentWhateverTheLengths) {
  EXPECT_TRUE(secret_equals("hunter2", "hunter2"));
  EXPECT_TRUE(secret_equals("", ""));
  EXPECT_FALSE(secret_equals("hunter2", "hunter3"));
  EXPECT_FALSE(secret_equals("hunter2", "hunter22"));
  EXPECT_FALSE(secret_equals("", "x"));
}
