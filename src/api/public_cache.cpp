#include "api/public_cache.hpp"

#include <spdlog/spdlog.h>

#include "core/error.hpp"

namespace bihuan::api {

Response PublicCache::get(const std::string& key, Instant now, const std::function<Response()>& make) {
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    epoch = epoch_;
    if (auto it = entries_.find(key); it != entries_.end() && it->second.epoch == epoch_ && now - it->second.at < ttl_ &&
                                      now >= it->second.at)
      return it->second.res;
  }
  Response fresh;
  try {
    fresh = make();
  } catch (const Error& e) {
    // The answer itself (no such day, a bad parameter): nothing kept stands for it any more.
    if (e.code() != ErrorCode::unavailable && e.code() != ErrorCode::internal) {
      std::lock_guard lock(mu_);
      entries_.erase(key);
      throw;
    }
    return stale_or_rethrow(key);
  } catch (...) {
    return stale_or_rethrow(key);
  }
  if (fresh.status == 200 && !fresh.deferred) {
    std::lock_guard lock(mu_);
    if (entries_.size() >= max_) entries_.clear();
    // Kept under the epoch it was computed in: a bump during the computation makes it stale.
    entries_[key] = Entry{fresh, now, epoch};
  } else {
    std::lock_guard lock(mu_);
    entries_.erase(key);
  }
  return fresh;
}

// Inside a catch block: the kept answer of `key`, marked stale, or the exception again.
Response PublicCache::stale_or_rethrow(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) throw;
    spdlog::warn("public portal: serving the kept answer of {} (recomputing failed)", key);
    Response stale = it->second.res;
    stale.headers.emplace_back("Warning", "110 - \"Response is Stale\"");
    return stale;
  }
}

void PublicCache::bump() {
  std::lock_guard lock(mu_);
  ++epoch_;
}

std::size_t PublicCache::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace bihuan::api
