#include "trace/partition.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"

namespace bihuan::trace {

std::vector<int> balance_venues(std::span<const std::uint64_t> visits_per_venue, int ranks) {
  if (ranks < 1) fail(ErrorCode::invalid_argument, "ranks: must be at least 1", "ranks");
  const std::size_t n = visits_per_venue.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return visits_per_venue[a] > visits_per_venue[b]; });
  std::vector<std::uint64_t> load(static_cast<std::size_t>(ranks), 0);
  std::vector<int> rank(n, 0);
  for (const std::uint32_t v : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    rank[v] = static_cast<int>(least);
    load[static_cast<std::size_t>(least)] += visits_per_venue[v];
  }
  return rank;
}

int rank_of_code(std::string_view code, int ranks) noexcept {
  if (ranks <= 1) return 0;
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char c : code) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return static_cast<int>(h % static_cast<std::uint64_t>(ranks));
}

}  // namespace bihuan::trace
