#pragma once
// Cutting transmission chains (阻断传播链): the rules of cases, their exposure window, contacts
// found from venue scans, transmission-chain statistics and investigation timeliness. Values and
// rules only, no I/O; src/cases applies them to stored records.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/policy.hpp"

namespace bihuan::tracing {

// ---- case report card values (传染病报告卡)
// 疑似病例, 临床诊断病例, 确诊病例, 无症状感染者
enum class Classification { suspected, clinical, confirmed, asymptomatic };
// 轻型, 普通型, 重型, 危重型
enum class Severity { mild, moderate, severe, critical };
// How the case was found: inside control (集中隔离, 居家隔离, 闭环作业) or in the community (社会面:
// 重点人群筛查, 区域核酸筛查, 门诊).
enum class FoundBy {
  central_quarantine, home_isolation, closed_loop_work, key_group_screening, round_screening, clinic, other
};

const char* to_string(Classification c);
const char* to_string(Severity s);
const char* to_string(FoundBy f);
std::optional<Classification> classification_from(std::string_view s);
std::optional<Severity> severity_from(std::string_view s);
std::optional<FoundBy> found_by_from(std::string_view s);
// Found inside control (管控内) rather than in the community (社会面).
bool found_inside_control(FoundBy f);
// The Chinese label of the report card (确诊病例, ...).
const char* label_zh(Classification c);
const char* label_zh(Severity s);
const char* label_zh(FoundBy f);

// ---- the profile's tracing rules, with the defaults of a profile that does not define them
struct Rules {
  int exposure_days_before = 2;
  int report_hours = 2, on_site_hours = 2, core_hours = 4, controlled_hours = 24;
  int co_traveller_rows = 3;
  bool trace_close = true;      // close contacts are traced under the profile
  bool trace_secondary = true;  // secondary contacts are traced under the profile
};
Rules rules_of(const policy::Profile& p);

// ---- the exposure window
// From `days_before` days before onset (local midnight of that day) for a case with symptoms, or
// before the first positive sampling for an asymptomatic infection (or a case without onset
// date), to isolation (or `now` while the case is not isolated). nullopt when neither an onset
// date nor a first positive sampling is known: the window cannot be placed.
struct Window {
  Instant start{}, end{};
};
std::optional<Window> exposure_window(Classification c, std::optional<Date> onset, std::optional<Instant> first_positive,
                                      std::optional<Instant> isolated, Instant now, int days_before,
                                      const LocalTime& local);

// ---- visits and overlap
// A visit lasts until its exit scan, or the dwell time without one.
Instant visit_end(Instant entered, std::optional<Instant> exited, std::chrono::minutes dwell);
// Overlap of [a0, a1) and [b0, b1) (zero when they do not meet).
std::chrono::seconds overlap(Instant a0, Instant a1, Instant b0, Instant b1);
// The default dwell (minutes) and minimum overlap of a venue type when no setting gives one.
int default_dwell_minutes(std::string_view venue_type);
inline constexpr int kDefaultMinOverlapMinutes = 15;

// ---- transmission chains
struct Link {
  std::int64_t infector = 0, infectee = 0;
};
// Whether adding infector -> infectee closes a cycle (or is a self-link).
bool would_cycle(const std::vector<Link>& links, std::int64_t infector, std::int64_t infectee);
// Connected groups of cases (聚集性疫情), each sorted, largest first then by smallest id; cases
// without links are single-case groups.
std::vector<std::vector<std::int64_t>> clusters(const std::vector<std::int64_t>& cases, const std::vector<Link>& links);
// Generation of each case: 1 for a case with no infector, else 1 + the lowest generation of its
// infectors. The links must be acyclic.
std::map<std::int64_t, int> generations(const std::vector<std::int64_t>& cases, const std::vector<Link>& links);

struct Summary {
  std::int64_t n = 0;
  double mean = 0, sd = 0;  // sample standard deviation (n - 1)
  double negative_share = 0;
  double median = 0;
};
// Serial intervals in days (infectee's onset minus infector's onset; may be negative).
Summary summarise(const std::vector<double>& values);
// Offspring distribution: number of cases -> how many cases infected that many (cases without
// an outgoing link count as 0).
std::map<int, std::int64_t> offspring(const std::vector<std::int64_t>& cases, const std::vector<Link>& links);

// ---- timeliness (流调时效)
struct Marks {
  std::optional<Instant> diagnosed, reported, investigation, listed, controlled;
};
struct Breach {
  std::string step;  // report | on_site | core | controlled
  Instant due{};
  std::optional<Instant> done;  // nullopt: still not done
};
// The steps past their deadline at `now` (done late, or not done and due): the report 2 h after
// diagnosis, then on site, core investigation and control counted from the report.
std::vector<Breach> breaches(const Marks& m, const Rules& r, Instant now);

}  // namespace bihuan::tracing
