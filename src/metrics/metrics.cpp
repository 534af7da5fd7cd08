#include "metrics/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <variant>

namespace bihuan::metrics {

namespace {

enum class Type { counter, gauge, histogram };

const char* type_name(Type t) {
  switch (t) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

struct WatchState {
  std::mutex mu;
  bool alive = true;
  std::function<double()> read;
};

struct Family {
  Type type = Type::counter;
  std::string help;
  // label text ("{a=\"1\"}" or "") -> cell
  std::map<std::string, std::unique_ptr<Counter>> counters;
  std::map<std::string, std::unique_ptr<Gauge>> gauges;
  std::map<std::string, std::unique_ptr<Histogram>> histograms;
  std::map<std::uint64_t, std::pair<std::string, std::shared_ptr<WatchState>>> watches;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, Family, std::less<>> families;
  std::map<std::uint64_t, std::string> watch_family;
  std::uint64_t next_watch = 1;

  Family& family(std::string_view name, std::string_view help, Type type) {
    auto it = families.find(name);
    if (it == families.end()) {
      it = families.emplace(std::string(name), Family{}).first;
      it->second.type = type;
      it->second.help = std::string(help);
    } else if (it->second.type != type) {
      throw std::logic_error("metric " + std::string(name) + " registered as " + type_name(it->second.type) +
                             ", used as " + type_name(type));
    }
    return it->second;
  }
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: cells outlive static destructors
  return *r;
}

bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string label_text(const Labels& labels, std::string_view extra_key = {}, std::string_view extra_value = {}) {
  if (labels.empty() && extra_key.empty()) return {};
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!valid_name(k)) throw std::logic_error("bad metric label name: " + k);
    if (!first) s += ',';
    first = false;
    s += k;
    s += "=\"";
    s += escape_label(v);
    s += '"';
  }
  if (!extra_key.empty()) {
    if (!first) s += ',';
    s += extra_key;
    s += "=\"";
    s += extra_value;
    s += '"';
  }
  s += '}';
  return s;
}

// Labels with an extra label appended (histogram "le").
std::string with_le(const std::string& labels, const std::string& le) {
  if (labels.empty()) return "{le=\"" + le + "\"}";
  return labels.substr(0, labels.size() - 1) + ",le=\"" + le + "\"}";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string escape_help(std::string_view h) {
  std::string out;
  for (char c : h) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void check_name(std::string_view name) {
  if (!valid_name(name)) throw std::logic_error("bad metric name: " + std::string(name));
}

}  // namespace

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double seconds) noexcept {
  if (!(seconds >= 0)) seconds = 0;
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  const double ns = seconds * 1e9;
  sum_ns_.fetch_add(ns >= 1.8e19 ? std::uint64_t{0} : static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

double Histogram::sum() const noexcept { return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9; }

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return b;
}

Counter& counter(std::string_view name, std::string_view help, const Labels& labels) {
  check_name(name);
  auto key = label_text(labels);
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto& cell = r.family(name, help, Type::counter).counters[key];
  if (!cell) cell = std::make_unique<Counter>();
  return *cell;
}

Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels) {
  check_name(name);
  auto key = label_text(labels);
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto& cell = r.family(name, help, Type::gauge).gauges[key];
  if (!cell) cell = std::make_unique<Gauge>();
  return *cell;
}

Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels,
                     const std::vector<double>& bounds) {
  check_name(name);
  auto key = label_text(labels);
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto& cell = r.family(name, help, Type::histogram).histograms[key];
  if (!cell) cell = std::make_unique<Histogram>(bounds);
  return *cell;
}

Watch watch(std::string_view name, std::string_view help, const Labels& labels, std::function<double()> read) {
  check_name(name);
  auto key = label_text(labels);
  auto state = std::make_shared<WatchState>();
  state->read = std::move(read);
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto& f = r.family(name, help, Type::gauge);
  const std::uint64_t id = r.next_watch++;
  f.watches.emplace(id, std::make_pair(key, std::move(state)));
  r.watch_family.emplace(id, std::string(name));
  return Watch(id);
}

Watch& Watch::operator=(Watch&& o) noexcept {
  if (this != &o) {
    Watch dying(std::exchange(id_, 0));
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

Watch::~Watch() {
  if (id_ == 0) return;
  std::shared_ptr<WatchState> state;
  {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    auto it = r.watch_family.find(id_);
    if (it == r.watch_family.end()) return;
    auto f = r.families.find(it->second);
    if (f != r.families.end()) {
      auto w = f->second.watches.find(id_);
      if (w != f->second.watches.end()) {
        state = w->second.second;
        f->second.watches.erase(w);
      }
    }
    r.watch_family.erase(it);
  }
  if (state) {
    std::lock_guard lock(state->mu);  // waits for a scrape that is reading it
    state->alive = false;
  }
}

std::string exposition() {
  struct PendingWatch {
    std::string family, labels;
    std::shared_ptr<WatchState> state;
  };
  std::string out;
  auto& r = registry();
  // Callbacks run outside the registry lock (they may take locks of their own), so the text of
  // families with callbacks is assembled in two steps.
  std::vector<std::pair<std::string, std::string>> blocks;  // name -> text (watch lines appended later)
  std::map<std::string, std::vector<PendingWatch>> family_watches;
  {
    std::lock_guard lock(r.mu);
    for (const auto& [name, f] : r.families) {
      std::string s = "# HELP " + name + " " + escape_help(f.help) + "\n# TYPE " + name + " " + type_name(f.type) + "\n";
      for (const auto& [labels, c] : f.counters) s += name + labels + " " + std::to_string(c->value()) + "\n";
      for (const auto& [labels, g] : f.gauges) s += name + labels + " " + std::to_string(g->value()) + "\n";
      for (const auto& [labels, h] : f.histograms) {
        const auto cum = h->cumulative();
        for (std::size_t i = 0; i < h->bounds().size(); ++i)
          s += name + "_bucket" + with_le(labels, number(h->bounds()[i])) + " " + std::to_string(cum[i]) + "\n";
        s += name + "_bucket" + with_le(labels, "+Inf") + " " + std::to_string(cum.back()) + "\n";
        s += name + "_sum" + labels + " " + number(h->sum()) + "\n";
        s += name + "_count" + labels + " " + std::to_string(cum.back()) + "\n";
      }
      for (const auto& [id, w] : f.watches) family_watches[name].push_back({name, w.first, w.second});
      blocks.emplace_back(name, std::move(s));
    }
  }
  for (auto& [name, text] : blocks) {
    out += text;
    auto it = family_watches.find(name);
    if (it == family_watches.end()) continue;
    for (auto& w : it->second) {
      std::lock_guard lock(w.state->mu);
      if (!w.state->alive) continue;
      double v = 0;
      try {
        v = w.state->read();
      } catch (...) {
        continue;  // a failing reader leaves its sample out
      }
      out += name + w.labels + " " + number(v) + "\n";
    }
  }
  return out;
}

}  // namespace bihuan::metrics
