// Areas, masking, roles, dates and the error table.
#include <gtest/gtest.h>

#include "core/area.hpp"
#include "core/date.hpp"
#include "core/error.hpp"
#include "core/rbac.hpp"

namespace bihuan {
namespace {

TEST(Area, CanonicalCodesDropPaddingGroups) {
  EXPECT_EQ(canonical_area_code("110000"), "11");
  EXPECT_EQ(canonical_area_code("110100"), "1101");
  EXPECT_EQ(canonical_area_code("110105000000"), "110105");
  EXPECT_EQ(canonical_area_code("110105001000"), "110105001");
  EXPECT_EQ(canonical_area_code("110105001001"), "110105001001");
  EXPECT_EQ(canonical_area_code("110105001001007"), "110105001001007");
  EXPECT_EQ(canonical_area_code("110105001001000"), "110105001001");
  EXPECT_FALSE(canonical_area_code("11010"));
  EXPECT_FALSE(canonical_area_code("11a105"));
  EXPECT_FALSE(canonical_area_code("000000"));
  EXPECT_FALSE(canonical_area_code(""));
}

TEST(Area, LevelsAndParents) {
  EXPECT_EQ(area_level_of("11"), AreaLevel::province);
  EXPECT_EQ(area_level_of("110105001001007"), AreaLevel::grid);
  EXPECT_EQ(parent_area_code("110105001001007"), "110105001001");
  EXPECT_EQ(parent_area_code("110105"), "1101");
  EXPECT_EQ(parent_area_code("11"), "");
  EXPECT_EQ(gbt2260_code("11"), "110000");
  EXPECT_EQ(gbt2260_code("110105001"), "110105");
}

TEST(Area, SubtreeRangeHoldsExactlyTheSubtree) {
  auto r = subtree_range("110105001001");
  EXPECT_EQ(r.lo, "110105001001");
  EXPECT_EQ(r.hi, "110105001002");
  for (std::string inside : {"110105001001", "110105001001001", "110105001001999"}) {
    EXPECT_TRUE(inside >= r.lo && inside < r.hi) << inside;
    EXPECT_TRUE(in_subtree(inside, "110105001001"));
  }
  for (std::string outside : {"110105001002", "110105001002001", "110105001000999", "1101050010"}) {
    EXPECT_FALSE(outside >= r.lo && outside < r.hi && outside.size() >= r.lo.size()) << outside;
    EXPECT_FALSE(in_subtree(outside, "110105001001")) << outside;
  }
  EXPECT_EQ(subtree_range("119").hi, "11:");
  EXPECT_TRUE(subtree_range("").hi.empty());
}

TEST(Masking, IdPhoneName) {
  EXPECT_EQ(mask_id_number("11010519491231002X"), "110105********002X");
  EXPECT_EQ(mask_phone("13812345678"), "138****5678");
  EXPECT_EQ(mask_phone("12345"), "*****");
  EXPECT_EQ(mask_name("张三"), "张*");
  EXPECT_EQ(mask_name("欧阳娜娜"), "欧***");
  EXPECT_EQ(mask_name("Li"), "L*");
  EXPECT_EQ(mask_id_number("E1234"), "*****");
}

TEST(Rbac, LeastPrivilege) {
  EXPECT_TRUE(has_permission(Role::admin, Permission::user_manage));
  EXPECT_FALSE(has_permission(Role::grid_worker, Permission::person_unmask));
  EXPECT_FALSE(has_permission(Role::grid_worker, Permission::audit_read));
  EXPECT_TRUE(has_permission(Role::grid_worker, Permission::person_read));
  EXPECT_TRUE(has_permission(Role::auditor, Permission::audit_read));
  EXPECT_FALSE(has_permission(Role::auditor, Permission::person_read));
  EXPECT_TRUE(org_scoped(Role::lab));
  EXPECT_FALSE(org_scoped(Role::grid_worker));
  for (Role r : all_roles()) EXPECT_EQ(role_from(to_string(r)), r);
  EXPECT_EQ(all_roles().size(), 14u);
  // A supply station's staff: their stations' stock and deliveries, nothing of the registry, the
  // loop (no needs, requests or households) or the centre's board.
  EXPECT_TRUE(org_scoped(Role::supply_station));
  EXPECT_EQ(permissions_of(Role::supply_station),
            (std::vector<Permission>{Permission::supply_read, Permission::supply_write}));
  EXPECT_EQ(role_from("supply_station"), Role::supply_station);
  EXPECT_STREQ(to_string(Permission::supply_write), "supply.write");
  EXPECT_TRUE(has_permission(Role::grid_worker, Permission::supply_write));
  EXPECT_FALSE(has_permission(Role::hospital, Permission::supply_read));
  EXPECT_FALSE(role_from("superuser"));
}

TEST(Dates, ParseFormatAge) {
  auto d = parse_date("2024-02-29");
  ASSERT_TRUE(d);
  EXPECT_EQ(format_date(*d), "2024-02-29");
  EXPECT_EQ(format_date(Date{std::chrono::year{987} / 1 / 5}), "0987-01-05");
  EXPECT_EQ(format_date(Date{std::chrono::year{2026} / 12 / 31}), "2026-12-31");
  EXPECT_EQ(format_date(Date{std::chrono::year{12345} / 10 / 9}), "12345-10-09");
  EXPECT_FALSE(parse_date("2023-02-29"));
  EXPECT_FALSE(parse_date("2023-2-9"));
  EXPECT_EQ(age_on(*parse_date("1949-12-31"), *parse_date("2026-11-29")), 76);
  EXPECT_EQ(age_on(*parse_date("2000-11-29"), *parse_date("2026-11-29")), 26);
  auto t = parse_instant("2026-11-29T08:15:00.123Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_instant(*t), "2026-11-29T08:15:00.123Z");
  EXPECT_FALSE(parse_instant("2026-11-29 08:15:00"));
}

TEST(Errors, OneTableMapsKinds) {
  EXPECT_EQ(http_status(ErrorCode::invalid_argument), 400);
  EXPECT_EQ(http_status(ErrorCode::permission_denied), 403);
  EXPECT_EQ(http_status(ErrorCode::payload_too_large), 413);
  EXPECT_EQ(exit_code(ErrorCode::invalid_argument), 2);
  EXPECT_EQ(error_code_name(ErrorCode::rate_limited), "rate_limited");
}

}  // namespace
}  // namespace bihuan
