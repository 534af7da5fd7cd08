#include "api/access_log.hpp"

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace bihuan::api {

AccessLog::AccessLog(const std::string& path) {
  if (path == "-") {
    file_ = stdout;
  } else {
    file_ = std::fopen(path.c_str(), "a");
    if (!file_)
      fail(ErrorCode::unavailable, "cannot open the access log " + path + ": " + std::strerror(errno), "access_log");
    owned_ = true;
    std::setvbuf(file_, nullptr, _IOFBF, 64 * 1024);
  }
  last_flush_ = std::chrono::steady_clock::now();
}

AccessLog::~AccessLog() {
  std::lock_guard lock(mu_);
  if (!file_) return;
  std::fflush(file_);
  if (owned_) std::fclose(file_);
  file_ = nullptr;
}

std::string AccessLog::line(const AccessEntry& e) {
  nlohmann::ordered_json j;
  j["time"] = format_instant(e.time);
  j["method"] = e.method;
  j["route"] = e.route;
  j["status"] = e.status;
  j["duration_ms"] = static_cast<double>(static_cast<std::int64_t>(e.duration_ms * 1000.0 + 0.5)) / 1000.0;
  j["user_id"] = e.user_id;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AccessLog::write(const AccessEntry& e) {
  std::string text = line(e);
  text.push_back('\n');
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (!file_) return;
  std::fwrite(text.data(), 1, text.size(), file_);
  if (now - last_flush_ >= std::chrono::seconds(1)) {
    std::fflush(file_);
    last_flush_ = now;
  }
}

void AccessLog::flush() {
  std::lock_guard lock(mu_);
  if (file_) std::fflush(file_);
  last_flush_ = std::chrono::steady_clock::now();
}

}  // namespace bihuan::api
