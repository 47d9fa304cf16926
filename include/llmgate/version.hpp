#pragma once
#ifndef LLMGATE_VERSION
#define LLMGATE_VERSION "0.0.0"
#endif
namespace llmgate {
inline constexpr const char* kVersion = LLMGATE_VERSION;
}
