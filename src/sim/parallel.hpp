#pragma once
// Runs body(i) for i in [0, n) on `threads` threads, handing out indices from a shared counter.
// Each index writes only its own result slot, so the outcome does not depend on the thread count.
// `cancelled` is polled before each index; `progress(done, n)` is called from the workers
// (serialised by a mutex).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bihuan::sim {

inline unsigned resolve_threads(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return threads;
}

template <typename Body>
void parallel_for(std::int64_t n, unsigned threads, Body&& body, const std::function<bool()>& cancelled = {},
                  const std::function<void(std::int64_t, std::int64_t)>& progress = {}) {
  threads = std::min<unsigned>(resolve_threads(threads), static_cast<unsigned>(std::max<std::int64_t>(1, n)));
  std::atomic<std::int64_t> next{0}, done{0};
  std::mutex mu;
  std::exception_ptr error;
  auto work = [&] {
    for (;;) {
      if (cancelled && cancelled()) return;
      const std::int64_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        body(i);
      } catch (...) {
        std::lock_guard lock(mu);
        if (!error) error = std::current_exception();
        next.store(n);
        return;
      }
      const std::int64_t d = done.fetch_add(1) + 1;
      if (progress) {
        std::lock_guard lock(mu);
        progress(d, n);
      }
    }
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace bihuan::sim
