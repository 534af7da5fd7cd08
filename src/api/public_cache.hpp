#pragma once
// The public portal's answers (no login, nothing personal), kept in memory: each is computed once
// and served from memory until it is `ttl` old or the content changed (bump), so a crowd reading
// the bulletin costs the database one query per answer and period. When recomputing fails (the
// database is busy or down) the last good answer is served, marked stale, so the portal stays up
// while the console is busy.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "api/http_types.hpp"
#include "core/date.hpp"

namespace bihuan::api {

class PublicCache {
 public:
  explicit PublicCache(std::chrono::seconds ttl = std::chrono::seconds{30}, std::size_t max_entries = 2000)
      : ttl_(ttl), max_(max_entries) {}

  // The answer for `key`: from memory when fresh, else from `make` (only answers with status 200
  // are kept). When `make` fails because the database is busy or down (an Error unavailable or
  // internal, or any other exception) the kept answer is served if there is one; an Error about
  // the request itself (not found, invalid argument) is the answer and drops the kept one.
  Response get(const std::string& key, Instant now, const std::function<Response()>& make);
  // The published content changed: every kept answer is recomputed at its next read.
  void bump();
  std::size_t size();

 private:
  Response stale_or_rethrow(const std::string& key);
  struct Entry {
    Response res;
    Instant at{};
    std::uint64_t epoch = 0;
  };
  std::chrono::seconds ttl_;
  std::size_t max_;
  std::mutex mu_;
  std::uint64_t epoch_ = 0;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace bihuan::api
