#pragma once
// Names the calling thread (top, perf and /proc/<pid>/task/*/comm show it; at most 15 bytes).
#include <pthread.h>

#include <string>

namespace llmgate {

inline void set_thread_name(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

}  // namespace llmgate
