// Supply stations' stock and deliveries (保供, core/stock): the ledger's moves never take a
// balance below zero and each kind of move has its sign; delivery lines name the line they
// reject; days of need and shortages by hand-worked numbers; the delivery's steps; the board's age
// bands at their edges.
#include <gtest/gtest.h>

#include <functional>

#include "core/error.hpp"
#include "core/stock.hpp"

namespace bihuan::stock {
namespace {

ErrorCode code_of(const std::function<void()>& f, std::string* field = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (field) *field = e.field();
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::internal;
}

TEST(Stock, MovesKeepTheBalanceAtOrAboveZero) {
  EXPECT_EQ(apply_move(0, MoveKind::receipt, 40, "", "q"), 40);
  EXPECT_EQ(apply_move(40, MoveKind::delivery, -40, "", "q"), 0);
  EXPECT_EQ(apply_move(5, MoveKind::returned, 2, "", "q"), 7);
  EXPECT_EQ(apply_move(5, MoveKind::adjust, -5, "两箱破损", "q"), 0);
  std::string field;
  EXPECT_EQ(code_of([] { apply_move(3, MoveKind::delivery, -4, "", "items[0].quantity"); }, &field), ErrorCode::conflict);
  EXPECT_EQ(field, "items[0].quantity");
  EXPECT_EQ(code_of([] { apply_move(3, MoveKind::adjust, -4, "recount", "q"); }), ErrorCode::conflict);
  EXPECT_EQ(code_of([] { apply_move(3, MoveKind::receipt, -1, "", "q"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { apply_move(3, MoveKind::returned, -1, "", "q"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { apply_move(3, MoveKind::delivery, 1, "", "q"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { apply_move(3, MoveKind::receipt, 0, "", "q"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of([] { apply_move(3, MoveKind::adjust, 2, "  ", "q"); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "note");
  EXPECT_EQ(move_kind_from("return"), MoveKind::returned);
  EXPECT_EQ(std::string(to_string(MoveKind::returned)), "return");
  EXPECT_FALSE(move_kind_from("gift"));
}

TEST(Stock, LinesNameTheLineTheyReject) {
  const std::vector<std::string> kinds = {"veg", "rice"};
  check_lines({{"veg", 1}, {"rice", 10000}}, kinds);
  std::string field;
  EXPECT_EQ(code_of([&] { check_lines({}, kinds); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "items");
  EXPECT_EQ(code_of([&] { check_lines({{"veg", 1}, {"milk", 1}}, kinds); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "items[1].kind");
  EXPECT_EQ(code_of([&] { check_lines({{"veg", 1}, {"veg", 2}}, kinds); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "items[1].kind");
  EXPECT_EQ(code_of([&] { check_lines({{"veg", 0}}, kinds); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "items[0].quantity");
  EXPECT_EQ(code_of([&] { check_lines({{"rice", 10001}}, kinds, "lines"); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "lines[0].quantity");
}

TEST(Stock, DaysOfNeedAndShortages) {
  // 10 households, a box lasting 3 days: 3 days of need = 10 boxes; a rice bag lasting 10 days:
  // 3 days of need of 7 households = ceil(21 / 10) = 3 bags.
  EXPECT_EQ(need_for(10, 3, 3), 10);
  EXPECT_EQ(need_for(7, 3, 10), 3);
  EXPECT_EQ(need_for(0, 3, 3), 0);
  EXPECT_EQ(need_for(5, 3, 0), 15);  // a kind that lasts "0 days" counts as one day
  EXPECT_EQ(days_covered(9, 10, 3), 2);   // 27 household-days over 10 households
  EXPECT_EQ(days_covered(30, 10, 3), 9);
  EXPECT_EQ(days_covered(-2, 10, 3), 0);
  EXPECT_FALSE(days_covered(9, 0, 3));
  const auto s = shortages({{"veg", 3, 9}, {"rice", 10, 3}, {"med", 7, 0}}, 10, 3);
  // veg: need 10, 9 on hand -> short 1 (2 days); rice: need 3 -> enough; med: need ceil(30/7)=5.
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, "veg");
  EXPECT_EQ(s[0].need, 10);
  EXPECT_EQ(s[0].missing, 1);
  EXPECT_EQ(s[0].days, 2);
  EXPECT_EQ(s[1].kind, "med");
  EXPECT_EQ(s[1].need, 5);
  EXPECT_EQ(s[1].missing, 5);
  EXPECT_EQ(s[1].days, 0);
  EXPECT_TRUE(shortages({{"veg", 3, 0}}, 0, 3).empty());  // nobody served: nothing is short
}

TEST(Stock, DeliverySteps) {
  using S = DeliveryStatus;
  EXPECT_TRUE(delivery_step_allowed(S::packed, S::at_point));
  EXPECT_TRUE(delivery_step_allowed(S::packed, S::delivered));
  EXPECT_TRUE(delivery_step_allowed(S::at_point, S::delivered));
  EXPECT_TRUE(delivery_step_allowed(S::at_point, S::failed));
  EXPECT_FALSE(delivery_step_allowed(S::at_point, S::at_point));
  EXPECT_FALSE(delivery_step_allowed(S::at_point, S::packed));
  EXPECT_FALSE(delivery_step_allowed(S::delivered, S::failed));
  EXPECT_FALSE(delivery_step_allowed(S::failed, S::delivered));
  std::string field;
  EXPECT_EQ(code_of([] { check_delivery_step(S::delivered, S::at_point); }, &field), ErrorCode::conflict);
  EXPECT_EQ(field, "status");
  EXPECT_EQ(delivery_status_from("at_point"), S::at_point);
  EXPECT_FALSE(delivery_status_from("lost"));
}

TEST(Stock, AgeBands) {
  EXPECT_EQ(age_band(0), "lt1h");
  EXPECT_EQ(age_band(59), "lt1h");
  EXPECT_EQ(age_band(60), "1to4h");
  EXPECT_EQ(age_band(239), "1to4h");
  EXPECT_EQ(age_band(240), "4to24h");
  EXPECT_EQ(age_band(1439), "4to24h");
  EXPECT_EQ(age_band(1440), "gt24h");
  EXPECT_EQ(age_bands().size(), 4u);
}

}  // namespace
}  // namespace bihuan::stock
