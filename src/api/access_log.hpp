#pragma once
// The access log: one JSON object per line for every HTTP request —
//   {"time":"2026-11-29T08:15:00.123Z","method":"GET","route":"/api/persons/{id}",
//    "status":200,"duration_ms":1.234,"user_id":7}
// The route is the matched template ("static" for console files, "unmatched" when no route
// matched), never the path or the query string, so no ID number or name reaches the log;
// user_id is 0 when the caller was not authenticated. Thread-safe; lines are buffered and
// flushed at least once a second and when the log is closed.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "core/date.hpp"

namespace bihuan::api {

struct AccessEntry {
  Instant time{};
  std::string_view method;
  std::string_view route;
  int status = 0;
  double duration_ms = 0;
  std::int64_t user_id = 0;
};

class AccessLog {
 public:
  // path "-" = standard output; otherwise appended to. Throws Error(unavailable) when the file
  // cannot be opened.
  explicit AccessLog(const std::string& path);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessEntry& e);
  void flush();
  // The JSON text of one entry (no newline).
  static std::string line(const AccessEntry& e);

 private:
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  std::chrono::steady_clock::time_point last_flush_{};
};

}  // namespace bihuan::api
