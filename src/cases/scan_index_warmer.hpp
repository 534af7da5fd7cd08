#pragma once
// Loads the scan log's index (cases/scan_log_index.hpp) in the background when the server
// starts, so that the first trace of a case does not wait for the whole log to be read. On a
// connection of its own; stop() interrupts the load (the index then stays unloaded and the next
// lookup loads it) and joins. Progress: rows_read() (log rows read so far, in steps of
// ScanLogIndex::kWarmStep) and state(), shown by the server in /metrics
// (bihuan_scan_index_warm_rows_read, bihuan_scan_index_warming, bihuan_scan_index_rows), and a
// log line per million rows.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "cases/scan_log_index.hpp"
#include "core/date.hpp"
#include "store/repository.hpp"

namespace bihuan::cases {

class IndexWarmer {
 public:
  using Open = std::function<std::unique_ptr<store::Repository>()>;
  enum class State { idle, warming, loaded, stopped, too_large, failed };

  IndexWarmer(std::shared_ptr<ScanLogIndex> index, Open open, const Clock& clock)
      : index_(std::move(index)), open_(std::move(open)), clock_(clock) {}
  ~IndexWarmer() { stop(); }
  IndexWarmer(const IndexWarmer&) = delete;
  IndexWarmer& operator=(const IndexWarmer&) = delete;

  void start();
  // Asks the load to stop (at its next step) without waiting.
  void request_stop() { stop_.store(true); }
  // request_stop(), then waits for the thread.
  void stop();
  // Waits for the thread to end by itself.
  void wait();

  State state() const { return state_.load(); }
  std::int64_t rows_read() const { return rows_.load(); }

 private:
  void run();
  std::shared_ptr<ScanLogIndex> index_;
  Open open_;
  const Clock& clock_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<State> state_{State::idle};
  std::atomic<std::int64_t> rows_{0};
};

const char* to_string(IndexWarmer::State s);

}  // namespace bihuan::cases
