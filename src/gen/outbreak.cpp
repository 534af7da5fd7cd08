#include "gen/outbreak.hpp"

#include <algorithm>
#include <cmath>

#include "core/area.hpp"
#include "core/error.hpp"
#include "gen/random.hpp"
#include "store/case_repository.hpp"

namespace bihuan::gen {

namespace {

using std::chrono::hours;
using std::chrono::minutes;

std::string date_text(Date d) { return format_date(d); }

}  // namespace

OutbreakReport seed_outbreak(store::Repository& repo, const OutbreakOptions& opt) {
  auto district = canonical_area_code(opt.district);
  if (!district || area_level_of(*district) != AreaLevel::county)
    fail(ErrorCode::invalid_argument, "--district must be a county-level area code", "district");
  if (!repo.area(*district)) fail(ErrorCode::invalid_argument, "no such district " + *district, "district");
  if (opt.days < 7 || opt.days > 120) fail(ErrorCode::invalid_argument, "--days must be between 7 and 120", "days");
  if (opt.cases < 10 || opt.cases > 5000) fail(ErrorCode::invalid_argument, "--cases must be between 10 and 5000", "cases");
  auto cases = store::open_case_repository(repo);

  // The residents who may fall ill: people of the district without a case.
  std::vector<Person> pool;
  store::PersonQuery q;
  q.area_prefix = *district;
  store::Page page{0, 1000};
  for (int i = 0; i < 20; ++i) {
    auto p = repo.find_persons(q, Scope::everything(), page);
    for (auto& x : p.items) pool.push_back(std::move(x));
    if (p.next == 0) break;
    page.after = p.next;
  }
  const int need = opt.cases + (opt.rebound ? 2 : 0);
  if (static_cast<int>(pool.size()) < need * 2)
    fail(ErrorCode::invalid_argument,
         "district " + *district + " has " + std::to_string(pool.size()) + " residents, too few for " +
             std::to_string(need) + " cases",
         "cases");

  Rng rng = Rng::stream(opt.seed, "outbreak");
  // The course of each case (origin country, conversion, recovery) from a stream of its own, so
  // that the cases themselves stay what they were for a seed.
  Rng course = Rng::stream(opt.seed, "outbreak-course");
  // The curve: daily weights growing by 25 % a day for 40 % of the days, then falling by 15 % a day.
  const int peak = std::max(2, opt.days * 2 / 5);
  std::vector<double> w(static_cast<std::size_t>(opt.days));
  for (int d = 0; d < opt.days; ++d)
    w[static_cast<std::size_t>(d)] = d <= peak ? std::pow(1.25, d) : std::pow(1.25, peak) * std::pow(0.85, d - peak);
  Discrete day_of(w);
  std::vector<int> days(static_cast<std::size_t>(opt.cases));
  for (auto& d : days) d = static_cast<int>(day_of(rng));
  days[0] = 0;
  if (days.size() > 1) days[1] = std::min(1, opt.days - 1);
  std::sort(days.begin(), days.end());

  const Date today = opt.local.date_of(opt.now);
  const Date first = Date{std::chrono::sys_days{today} - std::chrono::days{opt.days}};
  OutbreakReport rep;
  struct Made {
    std::int64_t id;
    int day;
  };
  std::vector<Made> made;
  std::size_t next_person = 0;
  auto take_person = [&]() -> const Person& {
    // A random resident not yet taken (swap to the front).
    const auto i = next_person + rng.below(pool.size() - next_person);
    std::swap(pool[next_person], pool[i]);
    return pool[next_person++];
  };
  auto make_case = [&](int day, Instant opened, bool imported, bool community_rebound) {
    const Person& p = take_person();
    store::CaseRecord c;
    c.person_id = p.id;
    c.area_code = p.area_code;
    c.source = "manual";
    const bool confirmed = rng.chance(0.35);
    c.classification = confirmed ? "confirmed" : "asymptomatic";
    c.severity = confirmed ? (rng.chance(0.04) ? "severe" : rng.chance(0.5) ? "moderate" : "mild") : "";
    c.origin = imported ? "imported" : "local";
    const bool recent = opened >= opt.now - hours(24 * 14);
    if (imported) {
      c.found_by = "central_quarantine";
    } else if (community_rebound) {
      c.found_by = rng.chance(0.5) ? "clinic" : "round_screening";
    } else if (recent) {
      c.found_by = rng.chance(0.6) ? "central_quarantine" : rng.chance(0.7) ? "home_isolation" : "closed_loop_work";
    } else {
      const double u = rng.unit();
      c.found_by = u < 0.45 ? "round_screening" : u < 0.75 ? "clinic" : u < 0.85 ? "key_group_screening" : "central_quarantine";
    }
    if (confirmed) {
      const auto onset = Date{std::chrono::sys_days{opt.local.date_of(opened)} - std::chrono::days{rng.between(0, 3)}};
      c.onset_date = date_text(onset);
    }
    c.opened_at = opened;
    c.first_positive_at = opened - hours(rng.between(2, 10));
    c.diagnosed_at = opened + minutes(rng.between(30, 180));
    c.reported_at = *c.diagnosed_at + minutes(rng.between(20, 150));
    c.isolated_at = opened;
    c.note = "演示疫情";
    // What the daily bulletin counts: where imported cases came from, asymptomatic infections
    // confirmed later, recoveries after 10-16 days (confirmed) or 7-10 days (asymptomatic).
    static const char* kOrigins[] = {"俄罗斯", "美国", "韩国", "日本", "新加坡"};
    if (imported) c.origin_place = kOrigins[course.below(5)];
    Instant confirmed_at = *c.reported_at;
    if (!confirmed && !community_rebound && course.chance(0.15)) {
      const Instant at = *c.reported_at + hours(course.between(24, 72));
      if (at < opt.now) {
        c.classification = "confirmed";
        c.severity = "mild";
        c.converted_at = at;
        confirmed_at = at;
      }
    }
    const Instant well = c.classification == "confirmed" ? confirmed_at + hours(24 * course.between(10, 16))
                                                         : *c.reported_at + hours(24 * course.between(7, 10));
    if (well < opt.now) {
      c.status = "closed";
      c.closed_at = well;
      c.outcome = "recovered";
    }
    cases->insert_case(c);
    ++rep.cases;
    rep.imported += imported;
    const bool inside = c.found_by == "central_quarantine" || c.found_by == "home_isolation" || c.found_by == "closed_loop_work";
    rep.found_inside_control += inside && !imported;
    rep.found_in_community += !inside && !imported;
    made.push_back({c.id, day});
    return c.id;
  };
  auto link = [&](std::int64_t from, std::int64_t to, Instant at) {
    store::LinkRow l;
    l.infector_case_id = from;
    l.infectee_case_id = to;
    l.confidence = rng.chance(0.4) ? "confirmed" : "probable";
    l.evidence = rng.chance(0.5) ? "同住" : rng.chance(0.5) ? "同事" : "同场所就餐";
    l.created_at = at;
    if (cases->insert_link(l) != 0) ++rep.links;
  };

  repo.transaction([&] {
    for (std::size_t i = 0; i < days.size(); ++i) {
      const int day = days[i];
      const Date d = Date{std::chrono::sys_days{first} + std::chrono::days{day}};
      Instant opened = opt.local.at(d, minutes(rng.between(8 * 60, 22 * 60)));
      if (opened > opt.now - hours(3)) opened = opt.now - hours(3) - minutes(rng.between(0, 600));
      const bool imported = i < 2;
      const auto id = make_case(day, opened, imported, false);
      // An infector among the cases 2 to 6 days earlier (a serial interval of about 4 days).
      if (!imported && rng.chance(0.7)) {
        std::vector<std::int64_t> earlier;
        for (const auto& m : made)
          if (m.id != id && day - m.day >= 2 && day - m.day <= 6) earlier.push_back(m.id);
        if (!earlier.empty()) link(earlier[rng.below(earlier.size())], id, opened);
      }
    }
    if (opt.rebound) {
      // Two cases found in the community in the last hour, the second infected by the first.
      const int day = opt.days;
      const auto a = make_case(day, opt.now - minutes(rng.between(50, 70)), false, true);
      const auto b = make_case(day, opt.now - minutes(rng.between(15, 40)), false, true);
      link(a, b, opt.now - minutes(10));
      rep.rebound = 2;
    }
  });
  return rep;
}

}  // namespace bihuan::gen
