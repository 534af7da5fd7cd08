// Contact finding (issue 8): a deterministic synthetic city's venue scans fed to the visit index as
// they arrive, then the scan co-location contacts of 1,000 cases (bench/RESULTS.md, "Contact
// finding (issue 8)"; bench/trace-bench.sh runs it with the DuckDB and PostgreSQL baselines).
//
//   trace_bench [--persons N] [--days D] [--cases C] [--seed S] [--out DIR]
//
// The city: households of 1-5 persons (one home venue each), workplaces of about 25 staff,
// schools of about 600 pupils, shops, restaurants and transport venues, each with its dwell time.
// Every person's day: home (evening return, overnight, one in five with an exit scan), on
// weekdays work or school (8-9 hours, 60 % exit) reached by transport both ways, shops,
// restaurants, extra trips at weekends. Scans arrive in time order except 5 % uploaded up to 30
// minutes late. Cases: C persons spread over the population, each with a 7-day exposure window.
//
// Prints the index build cost per visit (only the add() calls are timed), bytes per stored
// visit, and the query time for the cases (3 runs). With --out DIR it writes the same rows for the
// baselines: DIR/scans.csv (person,venue,entered,exited: unix seconds, exited the effective end),
// DIR/case_visits.csv (case person, venue, start, end: clipped to the window), DIR/venues.csv
// (venue,min_overlap_s), DIR/cases.csv (case person, window start, window end) and its own contacts
// DIR/bihuan.csv (case,contact,venue,overlap_s sorted).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace/join.hpp"
#include "trace/visit_index.hpp"

namespace {

using namespace bihuan::trace;
using Clock = std::chrono::steady_clock;

std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
struct Rng {
  std::uint64_t s;
  std::uint64_t next() { return splitmix(s); }
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>((next() >> 32) * n >> 32); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::int64_t range(std::int64_t lo, std::int64_t hi) { return lo + static_cast<std::int64_t>(below(static_cast<std::uint32_t>(hi - lo))); }
};

enum Type : std::uint8_t { home, workplace, school, shop, restaurant, transport, kTypes };
constexpr int kDwellMinutes[kTypes] = {720, 480, 420, 30, 60, 30};
constexpr int kMinOverlapMinutes[kTypes] = {15, 15, 15, 15, 15, 10};

struct City {
  std::uint32_t persons = 0, homes = 0, workplaces = 0, schools = 0, shops = 0, restaurants = 0, transports = 0;
  std::vector<std::uint32_t> home_of, work_of;  // work_of: workplace or school venue, or ~0
  std::vector<std::uint8_t> type;               // per venue
  VenueId first[kTypes] = {};
};

City build_city(std::uint32_t persons, std::uint64_t seed) {
  City c;
  c.persons = persons;
  Rng r{seed};
  c.home_of.resize(persons);
  std::uint32_t h = 0;
  for (std::uint32_t p = 0; p < persons; ++h) {
    const std::uint32_t size = 1 + r.below(5);  // 1..5, mean 3
    for (std::uint32_t k = 0; k < size && p < persons; ++k) c.home_of[p++] = h;
  }
  c.homes = h;
  c.workplaces = std::max(1u, persons * 55 / 100 / 25);
  c.schools = std::max(1u, persons * 15 / 100 / 600);
  c.shops = std::max(1u, persons / 100);
  c.restaurants = std::max(1u, persons / 130);
  c.transports = std::max(1u, persons / 700);
  const std::uint32_t counts[kTypes] = {c.homes, c.workplaces, c.schools, c.shops, c.restaurants, c.transports};
  VenueId next = 0;
  for (int t = 0; t < kTypes; ++t) {
    c.first[t] = next;
    next += counts[t];
    c.type.insert(c.type.end(), counts[t], static_cast<std::uint8_t>(t));
  }
  c.work_of.resize(persons, ~0u);
  for (std::uint32_t p = 0; p < persons; ++p) {
    const double u = r.unit();
    if (u < 0.55) c.work_of[p] = c.first[workplace] + r.below(c.workplaces);
    else if (u < 0.70) c.work_of[p] = c.first[school] + r.below(c.schools);
  }
  return c;
}

struct Visit {
  std::int64_t arrival;  // when the scan reaches the index
  std::int64_t entry;
  std::uint32_t duration;
  VenueId venue;
  PersonId person;
};

// One person's day of scans.
void person_day(const City& c, PersonId p, int day, std::int64_t day0, std::uint64_t seed, std::vector<Visit>& out) {
  Rng r{seed ^ (std::uint64_t{p} * 0x9E3779B97F4A7C15ull) ^ (std::uint64_t(day + 1) << 40)};
  const bool weekday = (day % 7) < 5;
  auto add = [&](VenueId v, std::int64_t entry, std::int64_t dur, double exit_share) {
    const auto t = c.type[v];
    if (r.unit() >= exit_share) dur = std::int64_t{kDwellMinutes[t]} * 60;  // no exit scan
    std::int64_t arrival = entry;
    if (r.below(100) < 5) arrival += r.range(0, 1800);
    out.push_back({arrival, entry, static_cast<std::uint32_t>(dur), v, p});
  };
  // A shop, restaurant or transport venue near home (people keep to a few) or anywhere.
  auto local = [&](Type t, std::uint32_t n) -> VenueId {
    const std::uint32_t h = c.home_of[p];
    const std::uint32_t pick = r.below(100) < 70 ? (h * 2654435761u + r.below(3)) % n : r.below(n);
    return c.first[t] + pick;
  };
  const std::uint32_t counts[kTypes] = {c.homes, c.workplaces, c.schools, c.shops, c.restaurants, c.transports};
  std::int64_t t = day0;
  const VenueId home_v = c.first[home] + c.home_of[p];
  if (weekday && c.work_of[p] != ~0u) {
    t += r.range(6 * 3600 + 1800, 8 * 3600 + 1800);
    const VenueId bus = local(transport, counts[transport]);
    const std::int64_t ride = r.range(15 * 60, 45 * 60);
    add(bus, t, ride, 0.4);
    t += ride + r.range(0, 900);
    const std::int64_t work = r.range(8 * 3600, 9 * 3600 + 1800);
    add(c.work_of[p], t, work, 0.6);
    if (r.below(100) < 35) {  // lunch out
      const std::int64_t lunch = t + r.range(3 * 3600, 4 * 3600);
      add(c.first[restaurant] + (c.work_of[p] * 7 + r.below(4)) % counts[restaurant], lunch, r.range(20 * 60, 60 * 60), 0.5);
    }
    t += work;
    add(bus, t + r.range(0, 600), ride + r.range(-300, 300), 0.4);
    t += ride + 600;
    if (r.below(100) < 45) {
      const std::int64_t s = r.range(10 * 60, 40 * 60);
      add(local(shop, counts[shop]), t, s, 0.5);
      t += s + r.range(300, 1200);
    }
    add(home_v, t, r.range(10 * 3600, 12 * 3600), 0.2);
    return;
  }
  // At home most of the day: errands.
  t += r.range(8 * 3600, 10 * 3600);
  const int trips = 1 + static_cast<int>(r.below(3));
  for (int k = 0; k < trips; ++k) {
    const bool ride = r.below(100) < 50;
    VenueId bus = 0;
    std::int64_t dur = 0;
    if (ride) {
      bus = local(transport, counts[transport]);
      dur = r.range(10 * 60, 40 * 60);
      add(bus, t, dur, 0.4);
      t += dur + r.range(60, 600);
    }
    const std::uint32_t u = r.below(100);
    const std::int64_t s = u < 65 ? r.range(10 * 60, 50 * 60) : r.range(30 * 60, 100 * 60);
    add(u < 65 ? local(shop, counts[shop]) : local(restaurant, counts[restaurant]), t, s, 0.5);
    t += s + r.range(300, 900);
    if (ride) {
      add(bus, t, dur, 0.4);
      t += dur;
    }
    add(home_v, t, r.range(1 * 3600, 4 * 3600), 0.3);
    t += r.range(1 * 3600, 4 * 3600);
  }
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long v = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) v = std::atol(line + 6);
  std::fclose(f);
  return v;
}

// Fast CSV writing of integers.
class Out {
 public:
  explicit Out(const std::string& path) : f_(std::fopen(path.c_str(), "w")) {
    if (!f_) {
      std::perror(path.c_str());
      std::exit(1);
    }
    buf_.reserve(1 << 22);
  }
  ~Out() {
    flush();
    std::fclose(f_);
  }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;
  void text(const char* s) { buf_ += s; }
  void num(std::int64_t v) {
    char tmp[24];
    const int n = std::snprintf(tmp, sizeof tmp, "%" PRId64, v);
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
  void row(std::initializer_list<std::int64_t> vs) {
    bool first = true;
    for (auto v : vs) {
      if (!first) buf_ += ',';
      first = false;
      num(v);
    }
    buf_ += '\n';
    if (buf_.size() > (1 << 22) - 256) flush();
  }
  void flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
  }

 private:
  std::FILE* f_;
  std::string buf_;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t persons = 2'000'000, cases_n = 1000;
  int days = 14, runs = 3;
  std::uint64_t seed = 8;
  std::string out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--persons") persons = static_cast<std::uint32_t>(std::atol(argv[i + 1]));
    else if (a == "--days") days = std::atoi(argv[i + 1]);
    else if (a == "--cases") cases_n = static_cast<std::uint32_t>(std::atol(argv[i + 1]));
    else if (a == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--out") out = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const std::int64_t t0 = 1793462400;  // 2026-11-01T00:00:00+08:00
  const auto city = build_city(persons, seed);
  const std::size_t venues = city.type.size();
  std::printf("city: %u persons, %zu venues (%u homes, %u workplaces, %u schools, %u shops, %u restaurants, %u transport)\n",
              persons, venues, city.homes, city.workplaces, city.schools, city.shops, city.restaurants, city.transports);

  // The cases: evenly spread persons, each with a 7-day window starting on day 3..6.
  std::vector<CaseQuery> cases(cases_n);
  std::vector<std::int32_t> case_of(persons, -1);
  for (std::uint32_t k = 0; k < cases_n; ++k) {
    const PersonId p = static_cast<PersonId>((std::uint64_t{k} * persons) / cases_n + k % 7);
    Rng r{seed * 31 + k};
    cases[k].person = p;
    cases[k].window_start = t0 + 3 * 86400 + r.range(0, 3 * 86400);
    cases[k].window_end = cases[k].window_start + 7 * 86400;
    case_of[p] = static_cast<std::int32_t>(k);
  }

  // The day's scans touched before the RSS baseline, so that RSS growth is the index's own.
  std::vector<Visit> today(static_cast<std::size_t>(persons) * 8);
  today.clear();
  const long rss_before = rss_kib();
  VisitIndex index(t0 - 86400);
  std::unique_ptr<Out> scans_csv;
  if (!out.empty()) {
    scans_csv = std::make_unique<Out>(out + "/scans.csv");
    scans_csv->text("person,venue,entered,exited\n");
  }
  double gen_s = 0, add_s = 0;
  for (int d = 0; d < days; ++d) {
    auto g = Clock::now();
    today.clear();
    for (PersonId p = 0; p < persons; ++p) person_day(city, p, d, t0 + std::int64_t{d} * 86400, seed, today);
    std::sort(today.begin(), today.end(), [](const Visit& a, const Visit& b) { return a.arrival < b.arrival; });
    gen_s += seconds_since(g);
    auto a = Clock::now();
    for (const auto& v : today) index.add(v.venue, v.person, v.entry, v.duration);
    add_s += seconds_since(a);
    for (const auto& v : today) {
      if (case_of[v.person] >= 0)
        cases[static_cast<std::size_t>(case_of[v.person])].visits.push_back({v.venue, v.entry, v.entry + v.duration});
      if (scans_csv) scans_csv->row({v.person, v.venue, v.entry, v.entry + v.duration});
    }
    std::fprintf(stderr, "day %d: %zu visits, index %zu\n", d + 1, today.size(), index.visits());
  }
  scans_csv.reset();
  // The CSV's gigabytes written back to disk now, not by the kernel's flusher during the queries.
  if (!out.empty()) ::sync();
  const long rss_after = rss_kib();
  const double visits = static_cast<double>(index.visits());
  std::printf("visits: %zu (%.2f per person-day), out of order %zu (%.2f %%), records shifted %zu\n", index.visits(),
              visits / persons / days, index.out_of_order(), 100.0 * static_cast<double>(index.out_of_order()) / visits,
              index.shifted());
  std::printf("index build: %.1f ns per visit (%.2f s adding; generating and ordering the scans: %.1f s, not counted)\n",
              add_s * 1e9 / visits, add_s, gen_s);
  std::printf("index memory: %.2f bytes per stored visit (%zu bytes in its containers); RSS grew by %.2f bytes per visit\n",
              static_cast<double>(index.memory_bytes()) / visits, index.memory_bytes(),
              static_cast<double>(rss_after - rss_before) * 1024.0 / visits);

  OverlapRule rule;
  rule.min_overlap_seconds.resize(venues);
  for (std::size_t v = 0; v < venues; ++v) rule.min_overlap_seconds[v] = std::int64_t{kMinOverlapMinutes[city.type[v]]} * 60;
  std::size_t case_visits = 0;
  for (const auto& c : cases) case_visits += c.visits.size();
  {
    // The work volume: stays the clipped case visits overlap (before the minimum and self).
    std::size_t seen = 0;
    const auto q = Clock::now();
    for (const auto& c : cases)
      for (const auto& v : c.visits) {
        const auto x = clip(v, c.window_start, c.window_end);
        if (x.end > x.start) index.overlapping(x.venue, x.start, x.end, [&](PersonId, std::int64_t, std::int64_t) { ++seen; });
      }
    std::printf("scan only: %zu overlapping stays in %.1f ms\n", seen, seconds_since(q) * 1e3);
    // The same walks, the windows of each case issued together (VisitIndex::overlapping_batch).
    std::vector<VisitIndex::Window> ws;
    for (int run = 0; run < 3; ++run) {
      seen = 0;
      const auto qb = Clock::now();
      for (const auto& c : cases) {
        ws.clear();
        for (const auto& v : c.visits) {
          const auto x = clip(v, c.window_start, c.window_end);
          if (x.end > x.start) ws.push_back({x.venue, x.start, x.end});
        }
        index.overlapping_batch(std::span<const VisitIndex::Window>(ws), [&](std::size_t, PersonId, std::int64_t, std::int64_t) { ++seen; });
      }
      std::printf("scan only, batched, run %d: %zu overlapping stays in %.1f ms\n", run + 1, seen, seconds_since(qb) * 1e3);
    }
  }
  std::vector<ContactHit> hits;
  for (const unsigned threads : {1u, 2u}) {
    for (int run = 0; run < runs; ++run) {
      const auto q = Clock::now();
      hits = find_contacts(index, cases, rule, threads);
      std::printf("query %u thread%s, run %d: %zu cases (%zu case visits) -> %zu contacts in %.1f ms\n", threads,
                  threads > 1 ? "s" : "", run + 1, cases.size(), case_visits, hits.size(), seconds_since(q) * 1e3);
    }
  }
  {
    // The same contacts, one window at a time through overlapping() into a plain map: the batched
    // walk must find exactly these.
    std::vector<ContactHit> ref;
    for (std::size_t c = 0; c < cases.size(); ++c) {
      std::unordered_map<std::uint64_t, std::size_t> at;
      for (const auto& raw : cases[c].visits) {
        const auto v = clip(raw, cases[c].window_start, cases[c].window_end);
        const std::int64_t need = std::max<std::int64_t>(rule.at(v.venue), 1);
        if (v.end - v.start < need) continue;
        index.overlapping(v.venue, v.start, v.end, [&](PersonId p, std::int64_t e, std::int64_t x) {
          const std::int64_t o = std::min(x, v.end) - std::max(e, v.start);
          if (p == cases[c].person || o < need) return;
          const auto [it, fresh] = at.try_emplace((std::uint64_t{p} << 32) | v.venue, ref.size());
          const auto o32 = static_cast<std::uint32_t>(o);
          if (fresh) ref.push_back(ContactHit{static_cast<std::uint32_t>(c), p, v.venue, o32});
          else ref[it->second].overlap_seconds = std::max(ref[it->second].overlap_seconds, o32);
        });
      }
    }
    auto sorted = hits;
    sort_hits(sorted);
    sort_hits(ref);
    std::printf("check: the query's %zu contacts %s the %zu of a walk one window at a time\n", sorted.size(),
                sorted == ref ? "equal" : "DIFFER FROM", ref.size());
    if (sorted != ref) return 1;
  }
  if (!out.empty()) {
    {
      Out cv(out + "/case_visits.csv");
      cv.text("case_person,venue,start_s,end_s\n");
      for (const auto& c : cases)
        for (const auto& v : c.visits) {
          const auto x = clip(v, c.window_start, c.window_end);
          if (x.end > x.start) cv.row({c.person, x.venue, x.start, x.end});
        }
    }
    {
      // The cases' windows, for the platform's SQL path over the same rows (bench/case-trace-sql.py).
      Out cw(out + "/cases.csv");
      cw.text("case_person,window_start_s,window_end_s\n");
      for (const auto& c : cases) cw.row({c.person, c.window_start, c.window_end});
    }
    {
      Out vv(out + "/venues.csv");
      vv.text("venue,min_overlap_s\n");
      for (std::size_t v = 0; v < venues; ++v) vv.row({static_cast<std::int64_t>(v), rule.min_overlap_seconds[v]});
    }
    std::sort(hits.begin(), hits.end(), [&](const ContactHit& a, const ContactHit& b) {
      const auto pa = cases[a.case_index].person, pb = cases[b.case_index].person;
      return std::tie(pa, a.contact, a.venue) < std::tie(pb, b.contact, b.venue);
    });
    Out h(out + "/bihuan.csv");
    for (const auto& x : hits) h.row({cases[x.case_index].person, x.contact, x.venue, x.overlap_seconds});
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS: %.1f GiB\n", static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0));
  return 0;
}
