#include "core/supply.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"

namespace bihuan::supply {

namespace {

template <typename E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& names, E v) {
  for (const auto& [e, n] : names)
    if (e == v) return n;
  return "unknown";
}
template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, const char*>, N>& names, std::string_view s) {
  for (const auto& [e, n] : names)
    if (s == n) return e;
  return std::nullopt;
}

constexpr std::array<std::pair<Vulnerability, const char*>, 7> kVulnerabilities{{
    {Vulnerability::elderly_alone, "elderly_alone"},
    {Vulnerability::pregnancy, "pregnancy"},
    {Vulnerability::dialysis, "dialysis"},
    {Vulnerability::chemotherapy, "chemotherapy"},
    {Vulnerability::chronic_illness, "chronic_illness"},
    {Vulnerability::child_in_difficulty, "child_in_difficulty"},
    {Vulnerability::disability, "disability"},
}};
constexpr std::array<std::pair<RequestKind, const char*>, 7> kKinds{{
    {RequestKind::necessities, "necessities"},
    {RequestKind::medicine, "medicine"},
    {RequestKind::dialysis, "dialysis"},
    {RequestKind::chemotherapy, "chemotherapy"},
    {RequestKind::pregnancy_check, "pregnancy_check"},
    {RequestKind::medical_visit, "medical_visit"},
    {RequestKind::emergency, "emergency"},
}};
constexpr std::array<std::pair<Priority, const char*>, 4> kPriorities{{
    {Priority::low, "low"},
    {Priority::normal, "normal"},
    {Priority::high, "high"},
    {Priority::urgent, "urgent"},
}};
constexpr std::array<std::pair<RequestStatus, const char*>, 6> kStatuses{{
    {RequestStatus::received, "received"},
    {RequestStatus::accepted, "accepted"},
    {RequestStatus::on_the_way, "on_the_way"},
    {RequestStatus::delivered, "delivered"},
    {RequestStatus::refused, "refused"},
    {RequestStatus::cancelled, "cancelled"},
}};
constexpr std::array<std::pair<OwnerKind, const char*>, 4> kOwners{{
    {OwnerKind::grid, "grid"},
    {OwnerKind::volunteer_team, "volunteer_team"},
    {OwnerKind::supply_station, "supply_station"},
    {OwnerKind::hospital, "hospital"},
}};
constexpr std::array<std::pair<TripStatus, const char*>, 6> kTrips{{
    {TripStatus::booked, "booked"},
    {TripStatus::outbound, "outbound"},
    {TripStatus::at_hospital, "at_hospital"},
    {TripStatus::returning, "returning"},
    {TripStatus::home, "home"},
    {TripStatus::cancelled, "cancelled"},
}};

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

bool home_stage(loop::Stage s) { return s == loop::Stage::home_isolation || s == loop::Stage::home_monitoring; }

}  // namespace

const char* to_string(Vulnerability v) { return name_of(kVulnerabilities, v); }
std::optional<Vulnerability> vulnerability_from(std::string_view s) { return value_of(kVulnerabilities, s); }
const std::vector<Vulnerability>& all_vulnerabilities() {
  static const std::vector<Vulnerability> all = [] {
    std::vector<Vulnerability> v;
    for (const auto& [e, n] : kVulnerabilities) v.push_back(e);
    return v;
  }();
  return all;
}

int age_on(Date birth, Date today) {
  const std::chrono::year_month_day b{birth}, t{today};
  int age = static_cast<int>(t.year()) - static_cast<int>(b.year());
  if (t.month() < b.month() || (t.month() == b.month() && t.day() < b.day())) --age;
  return age;
}

void check_flag(Vulnerability v, Sex sex, Date birth_date, Date today) {
  const int age = age_on(birth_date, today);
  if (v == Vulnerability::pregnancy && sex != Sex::female)
    fail(ErrorCode::invalid_argument, "pregnancy is flagged for women only (the registry says male)", "category");
  if (v == Vulnerability::elderly_alone && age < 60)
    fail(ErrorCode::invalid_argument,
         "elderly_alone is for people aged 60 or older (the registry gives " + std::to_string(age) + ")", "category");
  if (v == Vulnerability::child_in_difficulty && age >= 18)
    fail(ErrorCode::invalid_argument,
         "child_in_difficulty is for people under 18 (the registry gives " + std::to_string(age) + ")", "category");
}

void check_needs(const NeedsRecord& r) {
  const std::pair<const std::string*, const char*> fields[] = {{&r.necessities, "necessities"},
                                                               {&r.medicines, "medicines"},
                                                               {&r.medical, "medical"},
                                                               {&r.diet, "diet"},
                                                               {&r.contact_phone, "contact_phone"},
                                                               {&r.note, "note"}};
  bool any = false;
  for (const auto& [v, name] : fields) {
    if (v->size() > 2000) fail(ErrorCode::invalid_argument, std::string(name) + " is longer than 2000 bytes", name);
    if (!blank(*v)) any = true;
  }
  if (!any)
    fail(ErrorCode::invalid_argument, "a needs record says what the household needs (or a note that it needs nothing)",
         "necessities");
  if (!blank(r.contact_phone)) {
    int digits = 0;
    for (std::size_t i = 0; i < r.contact_phone.size(); ++i) {
      const char ch = r.contact_phone[i];
      if (std::isdigit(static_cast<unsigned char>(ch)))
        ++digits;
      else if (!(ch == ' ' || ch == '-' || (ch == '+' && i == r.contact_phone.find_first_not_of(' '))))
        fail(ErrorCode::invalid_argument, "contact_phone has a character that is not a digit: " + r.contact_phone,
             "contact_phone");
    }
    if (digits < 7 || digits > 20)
      fail(ErrorCode::invalid_argument, "contact_phone must have 7 to 20 digits", "contact_phone");
  }
}

bool stays_home(loop::Stage stage, loop::OrderSource source) {
  if (stage == loop::Stage::released) return false;
  if (source == loop::OrderSource::risk_area_list) return true;
  return home_stage(stage) || stage == loop::Stage::destination_community;
}

bool controlled_household(loop::Stage stage, loop::OrderSource source) {
  if (stage == loop::Stage::released) return false;
  return stage == loop::Stage::home_isolation || source == loop::OrderSource::risk_area_list;
}

const char* to_string(RequestKind k) { return name_of(kKinds, k); }
const char* to_string(Priority p) { return name_of(kPriorities, p); }
const char* to_string(RequestStatus s) { return name_of(kStatuses, s); }
const char* to_string(OwnerKind k) { return name_of(kOwners, k); }
const char* to_string(TripStatus s) { return name_of(kTrips, s); }
std::optional<RequestKind> request_kind_from(std::string_view s) { return value_of(kKinds, s); }
std::optional<Priority> priority_from(std::string_view s) { return value_of(kPriorities, s); }
std::optional<RequestStatus> request_status_from(std::string_view s) { return value_of(kStatuses, s); }
std::optional<OwnerKind> owner_kind_from(std::string_view s) { return value_of(kOwners, s); }
std::optional<TripStatus> trip_status_from(std::string_view s) { return value_of(kTrips, s); }
const std::vector<RequestKind>& all_request_kinds() {
  static const std::vector<RequestKind> all = [] {
    std::vector<RequestKind> v;
    for (const auto& [e, n] : kKinds) v.push_back(e);
    return v;
  }();
  return all;
}

bool is_medical(RequestKind k) {
  return k == RequestKind::emergency || needs_appointment(k);
}

bool needs_appointment(RequestKind k) {
  return k == RequestKind::dialysis || k == RequestKind::chemotherapy || k == RequestKind::pregnancy_check ||
         k == RequestKind::medical_visit;
}

Priority default_priority(RequestKind k) {
  switch (k) {
    case RequestKind::emergency: return Priority::urgent;
    case RequestKind::dialysis:
    case RequestKind::chemotherapy: return Priority::high;
    case RequestKind::pregnancy_check:
    case RequestKind::medical_visit:
    case RequestKind::medicine:
    case RequestKind::necessities: return Priority::normal;
  }
  return Priority::normal;
}

Priority effective_priority(RequestKind k, std::optional<Priority> asked) {
  if (k == RequestKind::emergency) return Priority::urgent;
  return asked ? *asked : default_priority(k);
}

int rank(Priority p) {
  switch (p) {
    case Priority::urgent: return 0;
    case Priority::high: return 1;
    case Priority::normal: return 2;
    case Priority::low: return 3;
  }
  return 3;
}

const std::array<DeadlineSetting, 3> kDeadlineSettings{{
    {RequestKind::emergency, "supply.deadline_minutes.emergency", 30, "急诊/急救需求响应时限", "emergency response time",
     "local setting; the twenty measures (2022-11-11) and the new ten (2022-12-07) require emergencies of controlled "
     "people to be served at once without a test certificate; 30 minutes is this deployment's default"},
    {RequestKind::medicine, "supply.deadline_minutes.medicine", 12 * 60, "药品需求送达时限", "medicine delivery time",
     "local setting; default half a day (Shanghai 2022 practice of next-round pharmacy deliveries)"},
    {RequestKind::necessities, "supply.deadline_minutes.necessities", 24 * 60, "生活物资送达时限",
     "daily necessities delivery time", "local setting; default one day (a daily delivery round)"},
}};

const std::array<EscalationSetting, 3> kEscalationSettings{{
    {2, "supply.escalate_minutes.street", 15, "超时就医需求由网格升级至街道的时限",
     "minutes at the grid before a late medical request goes to the street",
     "local setting; no national source fixes it. The twenty measures (2022-11-11) ask that medical needs of "
     "controlled people be met at once; this deployment gives each level a short turn before the next"},
    {3, "supply.escalate_minutes.district", 30, "升级至区（县）指挥部的时限",
     "minutes at the street before it goes to the district command centre", "local setting; no source fixes it"},
    {4, "supply.escalate_minutes.city", 60, "升级至市指挥部的时限",
     "minutes at the district before it goes to the city command centre", "local setting; no source fixes it"},
}};

const char* escalation_level_name(int level) {
  switch (level) {
    case 1: return "grid";
    case 2: return "street";
    case 3: return "district";
    case 4: return "city";
    default: return "";
  }
}

Instant escalation_due(Instant deadline, int level, const DeadlineRules& r) {
  Instant at = deadline;
  if (level >= 2) at += r.to_street;
  if (level >= 3) at += r.to_district;
  if (level >= 4) at += r.to_city;
  return at;
}

int escalation_level_at(Instant deadline, Instant now, const DeadlineRules& r) {
  int level = 0;
  while (level < kEscalationTop && now > escalation_due(deadline, level + 1, r)) ++level;
  return level;
}

std::string escalation_area_of(std::string_view area_code, int level) {
  std::size_t len = area_code.size();
  if (level == 2) len = 9;
  if (level == 3) len = 6;
  if (level >= 4) len = 4;
  return std::string(area_code.substr(0, std::min(len, area_code.size())));
}

std::chrono::minutes DeadlineRules::for_kind(RequestKind k) const {
  switch (k) {
    case RequestKind::emergency: return emergency;
    case RequestKind::medicine: return medicine;
    case RequestKind::necessities: return necessities;
    default: return std::chrono::minutes{0};
  }
}

Instant deadline_of(RequestKind k, Instant received_at, std::optional<Instant> appointment, const DeadlineRules& r) {
  if (needs_appointment(k)) {
    if (!appointment)
      fail(ErrorCode::invalid_argument, std::string("a ") + to_string(k) + " request needs its appointment time",
           "appointment_at");
    if (*appointment < received_at)
      fail(ErrorCode::invalid_argument, "the appointment is before the request was received", "appointment_at");
    return *appointment;
  }
  return received_at + r.for_kind(k);
}

bool transition_allowed(RequestStatus from, RequestStatus to) {
  using S = RequestStatus;
  switch (from) {
    case S::received:
      return to == S::accepted || to == S::on_the_way || to == S::delivered || to == S::refused || to == S::cancelled;
    case S::accepted: return to == S::on_the_way || to == S::delivered || to == S::refused || to == S::cancelled;
    case S::on_the_way: return to == S::delivered;
    case S::delivered:
    case S::refused:
    case S::cancelled: return false;
  }
  return false;
}

bool is_open(RequestStatus s) {
  return s != RequestStatus::delivered && s != RequestStatus::refused && s != RequestStatus::cancelled;
}

void check_transition(RequestStatus from, RequestStatus to, std::string_view reason) {
  if (!transition_allowed(from, to))
    fail(ErrorCode::conflict, std::string("a request that is ") + to_string(from) + " cannot become " + to_string(to),
         "status");
  if (to == RequestStatus::refused && blank(std::string(reason)))
    fail(ErrorCode::invalid_argument, "a refusal needs a reason", "reason");
  if (to == RequestStatus::cancelled && blank(std::string(reason)))
    fail(ErrorCode::invalid_argument, "a cancellation needs a reason", "reason");
}

bool late(RequestStatus s, Instant deadline, Instant now) { return is_open(s) && now > deadline; }

bool escalates(RequestKind k, RequestStatus s, Instant deadline, Instant now) {
  return is_medical(k) && late(s, deadline, now);
}

std::optional<TripStatus> trip_status(loop::Stage current, std::optional<loop::Stage> pending_to,
                                      loop::Stage home_stage_left) {
  using loop::Stage;
  switch (current) {
    case Stage::home_isolation:
    case Stage::home_monitoring:
      if (pending_to == Stage::transfer) return TripStatus::booked;
      if (current == home_stage_left) return TripStatus::home;
      return std::nullopt;
    case Stage::transfer: return TripStatus::outbound;
    case Stage::hospital: return TripStatus::at_hospital;
    case Stage::destination_transfer: return TripStatus::returning;
    case Stage::destination_community: return TripStatus::returning;
    default: return std::nullopt;
  }
}

std::optional<loop::Stage> next_leg(loop::Stage current, loop::Stage home_stage_left) {
  using loop::Stage;
  switch (current) {
    case Stage::transfer: return Stage::hospital;
    case Stage::hospital: return Stage::destination_transfer;
    case Stage::destination_transfer: return Stage::destination_community;
    case Stage::destination_community: return home_stage_left;
    default: return std::nullopt;
  }
}

RequestStatus request_status_of(TripStatus s) {
  switch (s) {
    case TripStatus::booked: return RequestStatus::accepted;
    case TripStatus::outbound: return RequestStatus::on_the_way;
    case TripStatus::cancelled: return RequestStatus::cancelled;
    default: return RequestStatus::delivered;
  }
}

}  // namespace bihuan::supply
