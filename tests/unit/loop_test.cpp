// Closed-loop rules: stage edges, handovers, acknowledgement, escalation, the deadline queue.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/loop.hpp"

namespace bihuan::loop {
namespace {

using namespace std::chrono_literals;

Instant at(const char* s) { return *parse_instant(s); }

ControlOrder arrival() {
  ControlOrder o;
  o.id = 7;
  o.person_id = 100;
  o.group = "inbound";
  o.profile = "ninth-edition";
  o.current = StageEntry{Stage::port_screening, Owner::org(1), at("2022-07-01T02:00:00Z")};
  return o;
}

TEST(Loop, EdgesFollowTheLoop) {
  EXPECT_TRUE(transition_allowed(Stage::port_screening, Stage::transfer));
  EXPECT_TRUE(transition_allowed(Stage::transfer, Stage::quarantine_site));
  EXPECT_TRUE(transition_allowed(Stage::quarantine_site, Stage::destination_transfer));
  EXPECT_TRUE(transition_allowed(Stage::destination_transfer, Stage::destination_community));
  EXPECT_TRUE(transition_allowed(Stage::destination_community, Stage::home_monitoring));
  EXPECT_TRUE(transition_allowed(Stage::home_monitoring, Stage::released));
  EXPECT_FALSE(transition_allowed(Stage::port_screening, Stage::quarantine_site));  // nobody skips the transfer
  EXPECT_FALSE(transition_allowed(Stage::released, Stage::home_monitoring));
  EXPECT_TRUE(next_stages(Stage::released).empty());
  for (auto s : {Stage::port_screening, Stage::transfer, Stage::hospital}) EXPECT_EQ(stage_from(to_string(s)), s);
}

TEST(Loop, HandoverMovesOwnershipOnlyOnAcknowledgement) {
  auto o = arrival();
  HandoverDeadlines d;
  auto h = send_handover(o, Stage::transfer, Owner::org(2), at("2022-07-01T03:00:00Z"), 11, "沪A12345", "王五", d);
  EXPECT_EQ(h.deadline, at("2022-07-01T05:00:00Z"));  // pick-up at port within 2 h
  o.pending = h;
  // Until acknowledged the port is still responsible.
  EXPECT_EQ(o.current.stage, Stage::port_screening);
  EXPECT_EQ(o.current.owner, Owner::org(1));
  // A second handover while one is pending is refused.
  EXPECT_THROW(send_handover(o, Stage::transfer, Owner::org(3), at("2022-07-01T03:10:00Z"), 11, "", "", d), Error);
  // Only the receiver acknowledges.
  try {
    acknowledge(o, Owner::org(3), at("2022-07-01T03:30:00Z"), 12);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::permission_denied);
  }
  acknowledge(o, Owner::org(2), at("2022-07-01T03:30:00Z"), 12);
  EXPECT_EQ(o.current.stage, Stage::transfer);
  EXPECT_EQ(o.current.owner, Owner::org(2));
  ASSERT_EQ(o.history.size(), 1u);
  EXPECT_EQ(o.history[0].stage, Stage::port_screening);
  EXPECT_FALSE(o.pending);
}

TEST(Loop, HandoverRejectsWrongEdgesAndOwners) {
  auto o = arrival();
  HandoverDeadlines d;
  try {
    send_handover(o, Stage::quarantine_site, Owner::org(5), at("2022-07-01T03:00:00Z"), 1, "", "", d);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "to");
  }
  try {
    send_handover(o, Stage::transfer, Owner::area("110105001001"), at("2022-07-01T03:00:00Z"), 1, "", "", d);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "receiver");
  }
  o.current = StageEntry{Stage::destination_transfer, Owner::org(2), at("2022-07-08T01:00:00Z")};
  auto h = send_handover(o, Stage::destination_community, Owner::area("110105001001"), at("2022-07-08T01:00:00Z"), 1,
                         "", "", d);
  EXPECT_EQ(h.deadline, at("2022-07-08T13:00:00Z"));  // community acknowledges within 12 h
}

TEST(Loop, ReleaseIsDirectAndFinal) {
  auto o = arrival();
  o.current = StageEntry{Stage::home_monitoring, Owner::area("110105001001001"), at("2022-07-08T01:00:00Z")};
  move_within_owner(o, Stage::released, at("2022-07-11T01:00:00Z"));
  EXPECT_EQ(o.status, OrderStatus::released);
  EXPECT_THROW(move_within_owner(o, Stage::hospital, at("2022-07-11T02:00:00Z")), Error);
}

TEST(Loop, EscalationClimbsGridCommunityStreetCounty) {
  const std::string grid = "110105001001003";
  EXPECT_EQ(escalation_area(grid, 0min, 60min), grid);
  EXPECT_EQ(escalation_area(grid, 59min, 60min), grid);
  EXPECT_EQ(escalation_area(grid, 60min, 60min), "110105001001");
  EXPECT_EQ(escalation_area(grid, 120min, 60min), "110105001");
  EXPECT_EQ(escalation_area(grid, 180min, 60min), "110105");
  EXPECT_EQ(escalation_area(grid, 1000min, 60min), "110105");  // the county command centre is the top
  EXPECT_EQ(escalation_level(1000min, 60min), 3);
}

TEST(Loop, DeadlineQueuePopsOnlyWhatFellDue) {
  DeadlineQueue q;
  q.add({1, AlertKind::handover_overdue, "handover:1", at("2022-07-01T05:00:00Z")});
  q.add({2, AlertKind::test_missing, "test:2022-07-02", at("2022-07-02T12:00:00Z")});
  q.add({3, AlertKind::handover_overdue, "handover:3", at("2022-07-01T04:00:00Z")});
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.next_due(), at("2022-07-01T04:00:00Z"));
  EXPECT_TRUE(q.resolve(1, "handover:1"));   // acknowledged in time
  EXPECT_FALSE(q.resolve(1, "handover:1"));
  auto due = q.pop_due(at("2022-07-01T06:00:00Z"));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].order_id, 3);
  EXPECT_TRUE(q.pop_due(at("2022-07-01T06:00:00Z")).empty());
  // Re-adding a subject replaces its due time.
  q.add({2, AlertKind::test_missing, "test:2022-07-02", at("2022-07-03T12:00:00Z")});
  EXPECT_TRUE(q.pop_due(at("2022-07-02T13:00:00Z")).empty());
  EXPECT_EQ(q.pop_due(at("2022-07-03T12:00:00Z")).size(), 1u);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace bihuan::loop
