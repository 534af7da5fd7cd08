#include "api/public_cache.hpp"

#include <spdlog/spdlog.h>

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
  } catch (...) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) throw;
    spdlog::warn("public portal: serving the kept answer of {} (recomputing failed)", key);
    Response stale = it->second.res;
    stale.headers.emplace_back("Warning", "110 - \"Response is Stale\"");
    return stale;
  }
  if (fresh.status == 200 && !fresh.deferred) {
    std::lock_guard lock(mu_);
    if (entries_.size() >= max_) entries_.clear();
    // Kept under the epoch it was computed in: a bump during the computation makes it stale.
    entries_[key] = Entry{fresh, now, epoch};
  }
  return fresh;
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
