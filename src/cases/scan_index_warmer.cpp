#include "cases/scan_index_warmer.hpp"

#include <spdlog/spdlog.h>

#include "store/trace_repository.hpp"

namespace bihuan::cases {

const char* to_string(IndexWarmer::State s) {
  switch (s) {
    case IndexWarmer::State::idle: return "idle";
    case IndexWarmer::State::warming: return "warming";
    case IndexWarmer::State::loaded: return "loaded";
    case IndexWarmer::State::stopped: return "stopped";
    case IndexWarmer::State::too_large: return "too_large";
    case IndexWarmer::State::failed: return "failed";
  }
  return "?";
}

void IndexWarmer::start() {
  if (thread_.joinable() || !index_) return;
  stop_.store(false);
  state_.store(State::warming);
  thread_ = std::thread([this] { run(); });
}

void IndexWarmer::stop() {
  request_stop();
  wait();
}

void IndexWarmer::wait() {
  if (thread_.joinable()) thread_.join();
}

void IndexWarmer::run() {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto repo = open_();
    if (stop_.load()) {
      state_.store(State::stopped);
      spdlog::info("scan-log index: loading stopped before it began");
      return;
    }
    auto log = store::open_trace_repository(*repo);
    spdlog::info("scan-log index: loading the venue-scan log in the background");
    const bool ok = index_->warm(*log, clock_.now(), [this](std::int64_t read) {
      rows_.store(read);
      if (read % 1'000'000 == 0) spdlog::info("scan-log index: {} rows of the log read", read);
      return !stop_.load();
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (ok) {
      const auto st = index_->stats();
      state_.store(State::loaded);
      spdlog::info("scan-log index: loaded in {:.1f} s, {} visits of {} venues ({} MiB)", s, st.rows, st.venues,
                   st.bytes >> 20);
    } else if (stop_.load()) {
      state_.store(State::stopped);
      spdlog::info("scan-log index: loading stopped after {} rows ({:.1f} s); the first trace loads it", rows_.load(), s);
    } else {
      state_.store(State::too_large);
      spdlog::warn("scan-log index: the log is too large for trace.scan_index_max_rows; traces read the log itself");
    }
  } catch (const std::exception& e) {
    state_.store(State::failed);
    spdlog::error("scan-log index: loading failed ({}); the first trace loads it", e.what());
  }
}

}  // namespace bihuan::cases
