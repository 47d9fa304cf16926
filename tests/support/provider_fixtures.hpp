#pragma once
// The recorded provider answers in tests/fixtures/providers/ (see its README.md), for unit tests
// (which define LLMGATE_SOURCE_DIR).
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace llmgate::test {

inline std::string provider_fixture(const std::string& name) {
  std::ifstream f(std::string(LLMGATE_SOURCE_DIR) + "/tests/fixtures/providers/" + name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << "missing fixture " << name;
  return ss.str();
}

}  // namespace llmgate::test
