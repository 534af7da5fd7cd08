#include "gen/scans.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "gen/random.hpp"
#include "store/case_repository.hpp"

namespace bihuan::gen {

namespace {

using std::chrono::minutes;

struct Place {
  std::int64_t id = 0;
  std::string type;
};

// Venues of one street by kind of visit.
struct Street {
  std::vector<Place> work, errands, transport, schools;
  std::map<std::string, std::int64_t> gates;  // grid -> its residential gate
};

bool is_errand(const std::string& t) {
  return t == "restaurant" || t == "supermarket" || t == "market" || t == "shopping_mall" || t == "pharmacy" ||
         t == "clinic" || t == "entertainment" || t == "gym" || t == "hotel" || t == "other" || t == "government" ||
         t == "religious";
}

// Minutes a visit lasts (the scan log keeps it only through an exit scan).
int stay_minutes(const std::string& t, Rng& rng) {
  if (t == "restaurant") return static_cast<int>(rng.between(25, 90));
  if (t == "shopping_mall" || t == "entertainment") return static_cast<int>(rng.between(40, 180));
  if (t == "gym") return static_cast<int>(rng.between(45, 120));
  if (t == "pharmacy") return static_cast<int>(rng.between(3, 15));
  if (t == "clinic") return static_cast<int>(rng.between(20, 90));
  if (t == "transport_hub") return static_cast<int>(rng.between(5, 30));
  return static_cast<int>(rng.between(10, 45));
}

}  // namespace

ScanReport generate_scans(store::Repository& repo, const ScanOptions& opt, const std::function<void(double)>& progress) {
  if (opt.days < 1 || opt.days > 60) fail(ErrorCode::invalid_argument, "days must be 1..60", "days");
  if (!opt.last_day.ok()) fail(ErrorCode::invalid_argument, "the last day is required", "today");
  auto cases = store::open_case_repository(repo);
  ScanReport rep;
  std::map<std::string, Street> streets;  // street code (9 digits) -> venues
  std::map<std::string, std::vector<std::int64_t>> schools_of_county;
  for (const auto& v : cases->venues_for_scans()) {
    ++rep.venues;
    if (v.area_code.size() < 9) {
      if (v.type == "school" && v.area_code.size() >= 6) schools_of_county[v.area_code.substr(0, 6)].push_back(v.id);
      continue;
    }
    auto& s = streets[v.area_code.substr(0, 9)];
    if (v.type == "residential_gate") s.gates.emplace(v.area_code, v.id);
    else if (v.type == "office" || v.type == "factory") s.work.push_back({v.id, v.type});
    else if (v.type == "transport_hub") s.transport.push_back({v.id, v.type});
    else if (v.type == "school") schools_of_county[v.area_code.substr(0, 6)].push_back(v.id);
    else if (is_errand(v.type)) s.errands.push_back({v.id, v.type});
  }
  const std::int64_t total = cases->count_persons_for_scans();
  std::int64_t after = 0, done = 0;
  std::vector<store::ScanRow> batch;
  auto flush = [&] {
    repo.transaction([&] {
      for (auto& s : batch) cases->append_scan(s);
    });
    batch.clear();
  };
  auto visit = [&](std::int64_t person, std::int64_t venue, Instant in, int stay, bool exit_scan) {
    if (in > opt.not_after) return;
    store::ScanRow s;
    s.venue_id = venue;
    s.person_id = person;
    s.entered_at = in;
    const Instant out = in + minutes{stay};
    if (exit_scan && out <= opt.not_after) {
      s.exited_at = out;
      ++rep.exits;
    }
    s.scan_day = format_date(opt.local.date_of(in));
    s.colour = "green";
    s.pass = true;
    s.via = "code";
    batch.push_back(std::move(s));
    ++rep.scans;
  };
  const auto last = std::chrono::sys_days{opt.last_day};
  for (;;) {
    auto persons = cases->persons_for_scans(after, 5000);
    if (persons.empty()) break;
    after = persons.back().id;
    for (const auto& p : persons) {
      ++rep.persons;
      if (p.area_code.size() < 9) continue;
      auto st = streets.find(p.area_code.substr(0, 9));
      if (st == streets.end()) continue;
      const Street& s = st->second;
      Rng rng = Rng::stream(opt.seed, "scans:" + std::to_string(p.id));
      int age = 40;
      if (auto b = parse_date(p.birth_date)) age = static_cast<int>((opt.last_day.year() - b->year()).count());
      // A stable workplace and school for the whole stream.
      const bool works = age >= 20 && age < 60 && !s.work.empty() && rng.chance(0.55);
      const Place work = works ? s.work[rng.below(s.work.size())] : Place{};
      const auto sc = schools_of_county.find(p.area_code.substr(0, 6));
      const bool pupil = age >= 6 && age < 18 && sc != schools_of_county.end() && !sc->second.empty();
      const std::int64_t school = pupil ? sc->second[rng.below(sc->second.size())] : 0;
      const auto gate = s.gates.find(p.area_code);
      for (int d = opt.days - 1; d >= 0; --d) {
        const Date day{last - std::chrono::days{d}};
        const auto at = [&](int minute_of_day) { return opt.local.at(day, minutes{minute_of_day}); };
        const bool weekday = std::chrono::weekday{std::chrono::sys_days{day}}.iso_encoding() <= 5;
        if (gate != s.gates.end() && rng.chance(0.7)) visit(p.id, gate->second, at(static_cast<int>(rng.between(17 * 60, 21 * 60))), 2, false);
        if (works && weekday && rng.chance(0.9)) {
          if (!s.transport.empty() && rng.chance(0.25)) {
            const auto& hub = s.transport[rng.below(s.transport.size())];
            visit(p.id, hub.id, at(static_cast<int>(rng.between(7 * 60, 8 * 60 + 30))), stay_minutes(hub.type, rng), false);
          }
          visit(p.id, work.id, at(static_cast<int>(rng.between(8 * 60, 9 * 60 + 30))), static_cast<int>(rng.between(420, 560)),
                rng.chance(0.4));
        }
        if (pupil && weekday) visit(p.id, school, at(static_cast<int>(rng.between(7 * 60 + 15, 8 * 60))), 540, false);
        const int errands = s.errands.empty() ? 0 : static_cast<int>(rng.below(age >= 18 ? 4 : 2));
        for (int e = 0; e < errands; ++e) {
          const auto& v = s.errands[rng.below(s.errands.size())];
          const int start = v.type == "restaurant" ? (rng.chance(0.5) ? static_cast<int>(rng.between(11 * 60, 13 * 60))
                                                                      : static_cast<int>(rng.between(17 * 60 + 30, 20 * 60)))
                                                   : static_cast<int>(rng.between(8 * 60, 21 * 60));
          visit(p.id, v.id, at(start), stay_minutes(v.type, rng), rng.chance(0.3));
        }
      }
      if (batch.size() >= 20000) flush();
    }
    done += static_cast<std::int64_t>(persons.size());
    if (progress && total > 0) progress(static_cast<double>(done) / static_cast<double>(total));
  }
  flush();
  return rep;
}

}  // namespace bihuan::gen
