#pragma once
// Process-wide metrics, exposed by the server as GET /metrics in the Prometheus text format
// (version 0.0.4). Usage from any layer:
//
//   static auto& jobs = metrics::counter("bihuan_import_jobs_total", "Import jobs by kind and outcome",
//                                        {{"kind", "persons"}, {"status", "done"}});
//   jobs.inc();
//
// A metric is a family (name, help, type) of cells, one per label set. counter()/gauge()/
// histogram() return the cell for a label set, creating it on first use; the reference stays
// valid for the life of the process, so callers may keep it (the cheap path: no lookup per
// event). Values are atomics: inc/set/observe are lock-free and safe from any thread.
// Calling one name with two different types is a programming error (std::logic_error).
//
// Values only known at scrape time (queue depths, lags) are callbacks: `watch()` registers one
// and returns a handle that unregisters it when destroyed (keep it as long as the object the
// callback reads).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bihuan::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Durations in seconds; bucket upper bounds are fixed when the family is created.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double seconds) noexcept;
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound (le), then +Inf; sum in seconds.
  std::vector<std::uint64_t> cumulative() const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bound, not cumulative; last = +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Default latency buckets: 0.5 ms .. 10 s.
const std::vector<double>& latency_buckets();

Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                     const std::vector<double>& bounds = latency_buckets());

// A gauge whose value is read when scraped. The callback runs on the scraping thread and must
// be thread-safe; it is never called after the handle is destroyed.
class Watch {
 public:
  Watch() = default;
  explicit Watch(std::uint64_t id) : id_(id) {}
  Watch(Watch&& o) noexcept : id_(std::exchange(o.id_, 0)) {}
  Watch& operator=(Watch&& o) noexcept;
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch();

 private:
  std::uint64_t id_ = 0;
};
[[nodiscard]] Watch watch(std::string_view name, std::string_view help, const Labels& labels,
                          std::function<double()> read);

// Every metric in the Prometheus text exposition format, families sorted by name.
std::string exposition();

// "a\"b" -> the escaped label value of the text format (backslash, quote, newline).
std::string escape_label(std::string_view v);

}  // namespace bihuan::metrics
