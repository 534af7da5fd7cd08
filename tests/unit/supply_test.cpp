// 保供 rules (core/supply): vulnerable flags against the registry's facts, needs records, which
// orders keep people at home, request kinds, priorities, deadlines by kind and their settings,
// status transitions, escalation of late medical requests, and the medical trip read off the
// control order's stages.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/loop.hpp"
#include "core/supply.hpp"

namespace bihuan::supply {
namespace {

using std::chrono::minutes;
using loop::OrderSource;
using loop::Stage;

Date day(const char* s) { return *parse_date(s); }
Instant at(int h, int m = 0) { return Instant{std::chrono::sys_days(day("2022-04-10"))} + std::chrono::hours(h) + minutes(m); }

template <typename F>
std::string field_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.field()) + ":" + std::string(error_code_name(e.code()));
  }
  return "no error";
}

TEST(SupplyFlags, AgeAndSexFollowTheRegistry) {
  EXPECT_EQ(age_on(day("1962-04-11"), day("2022-04-10")), 59);
  EXPECT_EQ(age_on(day("1962-04-10"), day("2022-04-10")), 60);
  EXPECT_EQ(field_of([] { check_flag(Vulnerability::elderly_alone, Sex::male, day("1962-04-11"), day("2022-04-10")); }),
            "category:invalid_argument");
  EXPECT_EQ(field_of([] { check_flag(Vulnerability::elderly_alone, Sex::male, day("1962-04-10"), day("2022-04-10")); }),
            "no error");
  EXPECT_EQ(field_of([] { check_flag(Vulnerability::pregnancy, Sex::male, day("1990-01-01"), day("2022-04-10")); }),
            "category:invalid_argument");
  EXPECT_EQ(field_of([] { check_flag(Vulnerability::pregnancy, Sex::female, day("1990-01-01"), day("2022-04-10")); }),
            "no error");
  EXPECT_EQ(
      field_of([] { check_flag(Vulnerability::child_in_difficulty, Sex::female, day("2004-04-10"), day("2022-04-10")); }),
      "category:invalid_argument");
  EXPECT_EQ(
      field_of([] { check_flag(Vulnerability::child_in_difficulty, Sex::female, day("2004-04-11"), day("2022-04-10")); }),
      "no error");
  EXPECT_EQ(field_of([] { check_flag(Vulnerability::dialysis, Sex::male, day("1950-01-01"), day("2022-04-10")); }),
            "no error");
}

TEST(SupplyFlags, NamesRoundTrip) {
  EXPECT_EQ(all_vulnerabilities().size(), 7u);
  for (auto v : all_vulnerabilities()) EXPECT_EQ(vulnerability_from(to_string(v)), v);
  EXPECT_FALSE(vulnerability_from("elderly"));
  for (auto k : all_request_kinds()) EXPECT_EQ(request_kind_from(to_string(k)), k);
  EXPECT_FALSE(request_kind_from("food"));
  EXPECT_EQ(owner_kind_from("supply_station"), OwnerKind::supply_station);
  EXPECT_FALSE(owner_kind_from("station"));
  EXPECT_EQ(request_status_from("on_the_way"), RequestStatus::on_the_way);
  EXPECT_EQ(trip_status_from("at_hospital"), TripStatus::at_hospital);
}

TEST(SupplyNeeds, RecordChecks) {
  NeedsRecord r;
  EXPECT_EQ(field_of([&] { check_needs(r); }), "necessities:invalid_argument");  // nothing recorded
  r.note = "needs nothing this week";
  EXPECT_EQ(field_of([&] { check_needs(r); }), "no error");
  r.contact_phone = "139-1234-5678";
  EXPECT_EQ(field_of([&] { check_needs(r); }), "no error");
  r.contact_phone = "+86 139 1234 5678";
  EXPECT_EQ(field_of([&] { check_needs(r); }), "no error");
  r.contact_phone = "13912345a78";
  EXPECT_EQ(field_of([&] { check_needs(r); }), "contact_phone:invalid_argument");
  r.contact_phone = "123456";
  EXPECT_EQ(field_of([&] { check_needs(r); }), "contact_phone:invalid_argument");
  r.contact_phone = "86+13912345678";
  EXPECT_EQ(field_of([&] { check_needs(r); }), "contact_phone:invalid_argument");
  r.contact_phone.clear();
  r.medicines = std::string(2001, 'x');
  EXPECT_EQ(field_of([&] { check_needs(r); }), "medicines:invalid_argument");
}

TEST(SupplyControl, WhoStaysHome) {
  EXPECT_TRUE(stays_home(Stage::home_isolation, OrderSource::close_contact));
  EXPECT_TRUE(stays_home(Stage::home_monitoring, OrderSource::close_contact));
  EXPECT_TRUE(stays_home(Stage::destination_community, OrderSource::arrival_manifest));
  EXPECT_FALSE(stays_home(Stage::quarantine_site, OrderSource::close_contact));
  EXPECT_FALSE(stays_home(Stage::hospital, OrderSource::close_contact));
  EXPECT_TRUE(stays_home(Stage::destination_community, OrderSource::risk_area_list));
  EXPECT_FALSE(stays_home(Stage::released, OrderSource::risk_area_list));
  // Controlled households: home isolation, or the control of a high-risk area.
  EXPECT_TRUE(controlled_household(Stage::home_isolation, OrderSource::close_contact));
  EXPECT_FALSE(controlled_household(Stage::home_monitoring, OrderSource::close_contact));
  EXPECT_TRUE(controlled_household(Stage::home_monitoring, OrderSource::risk_area_list));
}

TEST(SupplyRequests, PriorityByKind) {
  EXPECT_TRUE(is_medical(RequestKind::dialysis));
  EXPECT_TRUE(is_medical(RequestKind::emergency));
  EXPECT_FALSE(is_medical(RequestKind::medicine));
  EXPECT_FALSE(is_medical(RequestKind::necessities));
  EXPECT_FALSE(needs_appointment(RequestKind::emergency));
  EXPECT_TRUE(needs_appointment(RequestKind::pregnancy_check));
  EXPECT_EQ(effective_priority(RequestKind::emergency, Priority::low), Priority::urgent);
  EXPECT_EQ(effective_priority(RequestKind::dialysis, std::nullopt), Priority::high);
  EXPECT_EQ(effective_priority(RequestKind::necessities, std::nullopt), Priority::normal);
  EXPECT_EQ(effective_priority(RequestKind::necessities, Priority::high), Priority::high);
  EXPECT_LT(rank(Priority::urgent), rank(Priority::high));
  EXPECT_LT(rank(Priority::normal), rank(Priority::low));
}

TEST(SupplyRequests, DeadlineByKind) {
  DeadlineRules r;
  EXPECT_EQ(deadline_of(RequestKind::emergency, at(9), std::nullopt, r), at(9, 30));
  EXPECT_EQ(deadline_of(RequestKind::medicine, at(9), std::nullopt, r), at(21));
  EXPECT_EQ(deadline_of(RequestKind::necessities, at(9), at(23), r), at(33));  // appointment ignored
  EXPECT_EQ(deadline_of(RequestKind::dialysis, at(9), at(14), r), at(14));     // by its appointment
  EXPECT_EQ(field_of([&] { deadline_of(RequestKind::dialysis, at(9), std::nullopt, r); }),
            "appointment_at:invalid_argument");
  EXPECT_EQ(field_of([&] { deadline_of(RequestKind::pregnancy_check, at(9), at(8), r); }),
            "appointment_at:invalid_argument");
  r.emergency = minutes(15);
  EXPECT_EQ(deadline_of(RequestKind::emergency, at(9), std::nullopt, r), at(9, 15));
  // Every kind without an appointment has a labelled setting whose default is the rule's.
  const DeadlineRules d;
  for (const auto& s : kDeadlineSettings) {
    EXPECT_FALSE(needs_appointment(s.kind));
    EXPECT_EQ(d.for_kind(s.kind), minutes(s.default_minutes)) << s.key;
    EXPECT_FALSE(s.label_zh.empty());
    EXPECT_FALSE(s.source.empty());
  }
  int without = 0;
  for (auto k : all_request_kinds()) without += needs_appointment(k) ? 0 : 1;
  EXPECT_EQ(without, static_cast<int>(kDeadlineSettings.size()));
}

TEST(SupplyRequests, StatusTransitions) {
  using S = RequestStatus;
  EXPECT_TRUE(transition_allowed(S::received, S::accepted));
  EXPECT_TRUE(transition_allowed(S::accepted, S::on_the_way));
  EXPECT_TRUE(transition_allowed(S::on_the_way, S::delivered));
  EXPECT_TRUE(transition_allowed(S::received, S::refused));
  EXPECT_FALSE(transition_allowed(S::on_the_way, S::refused));  // on its way: deliver it
  EXPECT_FALSE(transition_allowed(S::delivered, S::received));
  EXPECT_FALSE(transition_allowed(S::refused, S::accepted));
  EXPECT_FALSE(transition_allowed(S::accepted, S::received));
  EXPECT_EQ(field_of([] { check_transition(S::received, S::refused, "  "); }), "reason:invalid_argument");
  EXPECT_EQ(field_of([] { check_transition(S::received, S::refused, "not our area's household"); }), "no error");
  EXPECT_EQ(field_of([] { check_transition(S::delivered, S::accepted, ""); }), "status:conflict");
  EXPECT_TRUE(is_open(S::on_the_way));
  EXPECT_FALSE(is_open(S::refused));
  // Cancelled (by those who raised it): from received or accepted, with a reason, final.
  EXPECT_TRUE(transition_allowed(S::accepted, S::cancelled));
  EXPECT_FALSE(transition_allowed(S::on_the_way, S::cancelled));
  EXPECT_FALSE(transition_allowed(S::cancelled, S::accepted));
  EXPECT_FALSE(is_open(S::cancelled));
  EXPECT_EQ(field_of([] { check_transition(S::accepted, S::cancelled, ""); }), "reason:invalid_argument");
  EXPECT_EQ(request_status_from("cancelled"), S::cancelled);
}

TEST(SupplyRequests, LateMedicalRequestsEscalate) {
  using S = RequestStatus;
  EXPECT_FALSE(escalates(RequestKind::dialysis, S::accepted, at(14), at(14)));  // at the deadline: in time
  EXPECT_TRUE(escalates(RequestKind::dialysis, S::accepted, at(14), at(14, 1)));
  EXPECT_FALSE(escalates(RequestKind::dialysis, S::delivered, at(14), at(15)));
  EXPECT_FALSE(escalates(RequestKind::necessities, S::received, at(14), at(20)));  // late, not medical
  EXPECT_TRUE(late(S::received, at(14), at(20)));
  EXPECT_TRUE(escalates(RequestKind::emergency, S::on_the_way, at(9, 30), at(9, 31)));
}

// Level by level: the grid just after the deadline, then the street, the district and the city
// after each level's minutes; the area answering at each level.
TEST(SupplyRequests, EscalationClimbsLevelByLevel) {
  DeadlineRules r;  // 15, 30, 60 minutes
  EXPECT_EQ(escalation_level_at(at(14), at(14), r), 0);
  EXPECT_EQ(escalation_level_at(at(14), at(14, 1), r), 1);
  EXPECT_EQ(escalation_level_at(at(14), at(14, 15), r), 1);
  EXPECT_EQ(escalation_level_at(at(14), at(14, 16), r), 2);
  EXPECT_EQ(escalation_level_at(at(14), at(14, 46), r), 3);
  EXPECT_EQ(escalation_level_at(at(14), at(15, 45), r), 3);
  EXPECT_EQ(escalation_level_at(at(14), at(15, 46), r), 4);
  EXPECT_EQ(escalation_level_at(at(14), at(23), r), 4);  // the top
  EXPECT_EQ(escalation_due(at(14), 1, r), at(14));
  EXPECT_EQ(escalation_due(at(14), 3, r), at(14, 45));
  r.to_street = minutes(5);
  EXPECT_EQ(escalation_level_at(at(14), at(14, 6), r), 2);
  EXPECT_EQ(escalation_area_of("110105001001001", 1), "110105001001001");
  EXPECT_EQ(escalation_area_of("110105001001001", 2), "110105001");
  EXPECT_EQ(escalation_area_of("110105001001001", 3), "110105");
  EXPECT_EQ(escalation_area_of("110105001001001", 4), "1101");
  EXPECT_EQ(escalation_area_of("110105", 2), "110105");  // never below its own area
  EXPECT_STREQ(escalation_level_name(4), "city");
  for (const auto& s : kEscalationSettings) {
    EXPECT_FALSE(s.label_zh.empty());
    EXPECT_FALSE(s.source.empty());
  }
}

TEST(SupplyTrips, StatusFollowsTheOrder) {
  const Stage home = Stage::home_isolation;
  EXPECT_EQ(trip_status(home, Stage::transfer, home), TripStatus::booked);
  EXPECT_EQ(trip_status(Stage::transfer, std::nullopt, home), TripStatus::outbound);
  EXPECT_EQ(trip_status(Stage::transfer, Stage::hospital, home), TripStatus::outbound);  // until the hospital acknowledges
  EXPECT_EQ(trip_status(Stage::hospital, std::nullopt, home), TripStatus::at_hospital);
  EXPECT_EQ(trip_status(Stage::destination_transfer, std::nullopt, home), TripStatus::returning);
  EXPECT_EQ(trip_status(Stage::destination_community, std::nullopt, home), TripStatus::returning);
  EXPECT_EQ(trip_status(home, std::nullopt, home), TripStatus::home);
  EXPECT_FALSE(trip_status(Stage::home_monitoring, std::nullopt, home));
  EXPECT_FALSE(trip_status(Stage::quarantine_site, std::nullopt, home));
  // The legs are edges of the loop, so each is a handover the loop allows.
  Stage s = Stage::transfer;
  EXPECT_TRUE(loop::transition_allowed(home, s));
  EXPECT_TRUE(loop::transition_allowed(Stage::home_monitoring, Stage::transfer));
  int legs = 0;
  while (auto n = next_leg(s, home)) {
    EXPECT_TRUE(loop::transition_allowed(s, *n)) << loop::to_string(s) << " -> " << loop::to_string(*n);
    s = *n;
    ++legs;
  }
  EXPECT_EQ(s, home);
  EXPECT_EQ(legs, 4);
  EXPECT_FALSE(next_leg(Stage::quarantine_site, home));
  EXPECT_EQ(request_status_of(TripStatus::booked), RequestStatus::accepted);
  EXPECT_EQ(request_status_of(TripStatus::outbound), RequestStatus::on_the_way);
  EXPECT_EQ(request_status_of(TripStatus::at_hospital), RequestStatus::delivered);
  EXPECT_EQ(request_status_of(TripStatus::home), RequestStatus::delivered);
  EXPECT_EQ(request_status_of(TripStatus::cancelled), RequestStatus::cancelled);
  EXPECT_EQ(trip_status_from("cancelled"), TripStatus::cancelled);
}

}  // namespace
}  // namespace bihuan::supply
