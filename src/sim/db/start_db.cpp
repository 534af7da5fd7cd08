#include "sim/db/start_db.hpp"

#include <chrono>

#include "core/error.hpp"
#include "store/sim_repository.hpp"

namespace bihuan::sim {

StartSnapshot load_snapshot(store::Repository& repo, const SnapshotOptions& opt) {
  if (opt.positive_days < 0 || opt.positive_days > 365)
    fail(ErrorCode::invalid_argument, "positive_days: must be from 0 to 365", "positive_days");
  const LocalTime lt = store::local_time_of(repo);
  StartSnapshot s;
  s.today = opt.today ? *opt.today : lt.date_of(SystemClock().now());
  s.active_profile = repo.setting("loop.active_profile").value_or("");
  auto sim = store::open_sim_repository(repo, opt.area_prefix);
  sim->for_each_person([&](const store::SimPersonRow& r) {
    StartSnapshot::Person p;
    p.id = r.id;
    if (const auto birth = parse_date(r.birth_date)) {
      p.age = age_on(*birth, s.today);
    } else {
      ++s.unknown_ages;
    }
    p.household = r.household_id;
    p.area = s.add_area(r.area_code);
    p.org = r.org_id;
    p.school = r.org_kind == "school";
    s.persons.push_back(p);
  });
  for (const auto& o : sim->active_orders()) {
    const auto start = parse_date(o.start_date);
    if (!start)
      fail(ErrorCode::invalid_argument,
           "control order " + std::to_string(o.order_id) + ": start_date is not a date: '" + o.start_date + "'",
           "start_date");
    s.orders.push_back({o.person_id, o.group, o.stage, *start});
  }
  for (const auto& c : sim->open_cases()) {
    const Date opened = lt.date_of(c.opened_at);
    s.cases.push_back({c.person_id, c.sampled_at ? lt.date_of(*c.sampled_at) : opened, opened, true});
  }
  const Instant since = lt.start_of(Date(std::chrono::sys_days(s.today) - std::chrono::days(opt.positive_days)));
  for (const auto& r : sim->positives_without_case(since)) {
    const Date received = lt.date_of(r.received_at);
    s.cases.push_back({r.person_id, r.sampled_at ? lt.date_of(*r.sampled_at) : received, received, false});
  }
  return s;
}

}  // namespace bihuan::sim
