// SlotRepository over the Db driver layer, sharing the connection of a Repository.
#include <algorithm>
#include <map>

#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/slot_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

struct Range {
  std::string lo, hi;
};
Range range_of(const std::string& prefix) {
  auto r = subtree_range(prefix);
  return {r.lo, r.hi.empty() ? std::string("\x7f") : r.hi};
}

constexpr const char* kUnitCols = "u.id, u.round_id, u.area_code, u.household_id, u.person_id, u.slot_id, u.members";
SlotUnitRow read_unit(const Q& q) {
  Cols c(q);
  SlotUnitRow u;
  u.id = c.i64();
  u.round_id = c.i64();
  u.area_code = c.str();
  u.household_id = c.i64();
  u.person_id = c.i64();
  u.slot_id = c.i64();
  u.members = c.i64();
  return u;
}

// A planned person is counted sampled when a tube of the round holds them; a household's
// planned persons are its members registered in the round's area and not excluded from it.
constexpr const char* kHouseholdSampled =
    "SELECT COUNT(DISTINCT m.person_id) FROM persons q JOIN tube_members m ON m.round_id = u.round_id "
    "AND m.person_id = q.id WHERE q.household_id = u.household_id AND q.merged_into IS NULL "
    "AND q.area_code >= ? AND q.area_code < ? AND NOT EXISTS (SELECT 1 FROM round_exclusions x "
    "WHERE x.round_id = u.round_id AND x.person_id = q.id)";
constexpr const char* kPersonSampled =
    "SELECT COUNT(DISTINCT m.person_id) FROM tube_members m WHERE m.round_id = u.round_id AND m.person_id = u.person_id";

class SqlSlotRepository final : public SlotRepository {
 public:
  explicit SqlSlotRepository(Repository& repo) : db_(database_of(repo)) {}

  std::vector<std::string> resident_areas(const std::string& prefix) override {
    const auto r = range_of(prefix);
    Q q(db_, "SELECT DISTINCT area_code FROM persons WHERE area_code >= ? AND area_code < ? AND merged_into IS NULL "
             "ORDER BY area_code");
    q.text(r.lo).text(r.hi);
    std::vector<std::string> out;
    while (q.next()) out.push_back(q.str(0));
    return out;
  }

  void residents_in(const std::string& area_code, const std::function<void(std::int64_t, std::int64_t)>& fn) override {
    Q q(db_, "SELECT id, COALESCE(household_id, 0) FROM persons WHERE area_code = ? AND merged_into IS NULL ORDER BY id");
    q.text(area_code);
    while (q.next()) fn(q.int64(0), q.int64(1));
  }

  std::vector<std::int64_t> household_members(std::int64_t household_id, const std::string& prefix) override {
    const auto r = range_of(prefix);
    Q q(db_, "SELECT id FROM persons WHERE household_id = ? AND merged_into IS NULL AND area_code >= ? AND area_code < ? "
             "ORDER BY id");
    q.i64(household_id).text(r.lo).text(r.hi);
    std::vector<std::int64_t> out;
    while (q.next()) out.push_back(q.int64(0));
    return out;
  }

  void replace_plan(const SlotPlanRow& made, std::vector<SlotRow>& slot_rows, const std::vector<SlotUnitRow>& unit_rows,
                    const std::function<void(std::size_t)>& progress) override {
    Q(db_, "DELETE FROM round_slot_units WHERE round_id = ?").i64(made.round_id).run();
    Q(db_, "DELETE FROM round_slots WHERE round_id = ?").i64(made.round_id).run();
    Q(db_, "DELETE FROM round_slot_plans WHERE round_id = ?").i64(made.round_id).run();
    Q(db_, "INSERT INTO round_slot_plans (round_id, slot_minutes, residents, units, points, capacity, made_at, made_by) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .i64(made.round_id)
        .i64(made.slot_minutes)
        .i64(made.residents)
        .i64(made.units)
        .i64(made.points)
        .i64(made.capacity)
        .i64(to_unix_ms(made.made_at))
        .i64(made.made_by)
        .run();
    const std::string ins = db_.dialect().insert_returning(
        "INSERT INTO round_slots (round_id, point_id, area_code, starts, ends, capacity, planned) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        "id");
    for (auto& s : slot_rows) {
      Q q(db_, ins);
      q.i64(made.round_id).i64(s.point_id).text(s.area_code).i64(s.starts).i64(s.ends).i64(s.capacity).i64(s.planned);
      s.id = q.inserted_id();
      s.round_id = made.round_id;
    }
    // Units in multi-row INSERTs of kRows (one cached statement per size), in the order given.
    constexpr std::size_t kRows = 100;
    for (std::size_t i = 0; i < unit_rows.size(); i += kRows) {
      const std::size_t n = std::min(kRows, unit_rows.size() - i);
      std::string sql =
          "INSERT INTO round_slot_units (round_id, area_code, household_id, person_id, slot_id, members) VALUES ";
      for (std::size_t k = 0; k < n; ++k) sql += k ? ", (?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?)";
      Q q(db_, sql);
      for (std::size_t k = 0; k < n; ++k) {
        const auto& u = unit_rows[i + k];
        const auto idx = static_cast<std::size_t>(u.slot_id);
        if (idx >= slot_rows.size()) fail(ErrorCode::internal, "a unit names no slot of the plan", "slot_id");
        q.i64(made.round_id).text(u.area_code).i64(u.household_id).i64(u.person_id).i64(slot_rows[idx].id).i64(u.members);
      }
      q.run();
      if (progress && (i / kRows) % 100 == 0) progress(i + n);
    }
    if (progress) progress(unit_rows.size());
  }

  std::optional<SlotPlanRow> plan(std::int64_t round_id) override {
    Q q(db_, "SELECT round_id, slot_minutes, residents, units, points, capacity, made_at, made_by FROM round_slot_plans "
             "WHERE round_id = ?");
    q.i64(round_id);
    if (!q.next()) return std::nullopt;
    Cols c(q);
    SlotPlanRow p;
    p.round_id = c.i64();
    p.slot_minutes = static_cast<int>(c.i64());
    p.residents = c.i64();
    p.units = c.i64();
    p.points = c.i64();
    p.capacity = c.i64();
    p.made_at = c.at();
    p.made_by = c.i64();
    return p;
  }

  std::vector<SlotRow> slots(std::int64_t round_id) override {
    Q q(db_, "SELECT id, round_id, point_id, area_code, starts, ends, capacity, planned FROM round_slots "
             "WHERE round_id = ? ORDER BY point_id, starts");
    q.i64(round_id);
    std::vector<SlotRow> out;
    while (q.next()) {
      Cols c(q);
      SlotRow s;
      s.id = c.i64();
      s.round_id = c.i64();
      s.point_id = c.i64();
      s.area_code = c.str();
      s.starts = static_cast<int>(c.i64());
      s.ends = static_cast<int>(c.i64());
      s.capacity = c.i64();
      s.planned = c.i64();
      out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<SlotTally> tally(std::int64_t round_id, const std::string& prefix, const std::string& round_area,
                               bool sampled) override {
    const auto r = range_of(prefix);
    std::map<std::int64_t, SlotTally> by_slot;
    {
      Q q(db_, "SELECT slot_id, COUNT(*), SUM(members) FROM round_slot_units WHERE round_id = ? AND area_code >= ? "
               "AND area_code < ? GROUP BY slot_id");
      q.i64(round_id).text(r.lo).text(r.hi);
      while (q.next()) {
        auto& t = by_slot[q.int64(0)];
        t.slot_id = q.int64(0);
        t.units = q.int64(1);
        t.planned = q.int64(2);
      }
    }
    if (sampled) {
      const auto ra = range_of(round_area);
      Q h(db_,
          "SELECT u.slot_id, COUNT(DISTINCT m.person_id) FROM round_slot_units u "
          "JOIN persons q ON q.household_id = u.household_id AND q.merged_into IS NULL AND q.area_code >= ? "
          "AND q.area_code < ? "
          "JOIN tube_members m ON m.round_id = u.round_id AND m.person_id = q.id "
          "WHERE u.round_id = ? AND u.area_code >= ? AND u.area_code < ? AND u.person_id = 0 "
          "AND NOT EXISTS (SELECT 1 FROM round_exclusions x WHERE x.round_id = u.round_id AND x.person_id = q.id) "
          "GROUP BY u.slot_id");
      h.text(ra.lo).text(ra.hi).i64(round_id).text(r.lo).text(r.hi);
      while (h.next()) by_slot[h.int64(0)].sampled += h.int64(1);
      Q p(db_,
          "SELECT u.slot_id, COUNT(DISTINCT m.person_id) FROM round_slot_units u "
          "JOIN tube_members m ON m.round_id = u.round_id AND m.person_id = u.person_id "
          "WHERE u.round_id = ? AND u.area_code >= ? AND u.area_code < ? AND u.person_id <> 0 GROUP BY u.slot_id");
      p.i64(round_id).text(r.lo).text(r.hi);
      while (p.next()) by_slot[p.int64(0)].sampled += p.int64(1);
    }
    std::vector<SlotTally> out;
    out.reserve(by_slot.size());
    for (auto& [id, t] : by_slot) {
      t.slot_id = id;
      out.push_back(t);
    }
    return out;
  }

  PageOf<SlotUnitView> units(std::int64_t round_id, const std::string& prefix, std::int64_t slot_id,
                             const std::string& round_area, Page page) override {
    check_page(page);
    const auto r = range_of(prefix);
    const auto ra = range_of(round_area);
    std::string sql = std::string("SELECT ") + kUnitCols +
                      ", COALESCE(h.address, p.address, ''), CASE WHEN u.person_id = 0 THEN (" + kHouseholdSampled +
                      ") ELSE (" + kPersonSampled +
                      ") END FROM round_slot_units u LEFT JOIN households h ON u.person_id = 0 AND h.id = u.household_id "
                      "LEFT JOIN persons p ON u.person_id <> 0 AND p.id = u.person_id "
                      "WHERE u.round_id = ? AND u.area_code >= ? AND u.area_code < ? AND u.id > ?";
    if (slot_id > 0) sql += " AND u.slot_id = ?";
    sql += " ORDER BY u.id LIMIT ?";
    Q q(db_, sql);
    q.text(ra.lo).text(ra.hi).i64(round_id).text(r.lo).text(r.hi).i64(page.after);
    if (slot_id > 0) q.i64(slot_id);
    q.i64(page.limit + 1);
    PageOf<SlotUnitView> out;
    while (q.next()) {
      SlotUnitView v;
      v.unit = read_unit(q);
      v.address = q.str(7);
      v.sampled = q.int64(8);
      out.items.push_back(std::move(v));
    }
    if (static_cast<int>(out.items.size()) > page.limit) {
      out.items.resize(static_cast<std::size_t>(page.limit));
      out.next = out.items.back().unit.id;
    }
    return out;
  }

  std::optional<SlotUnitRow> unit_of(std::int64_t round_id, std::int64_t person_id, std::int64_t household_id) override {
    Q q(db_, std::string("SELECT ") + kUnitCols +
                 " FROM round_slot_units u WHERE u.round_id = ? AND ((u.household_id = ? AND u.person_id IN (0, ?)) OR "
                 "(u.household_id = 0 AND u.person_id = ?)) AND NOT EXISTS (SELECT 1 FROM round_exclusions x "
                 "WHERE x.round_id = u.round_id AND x.person_id = ?) ORDER BY u.person_id DESC LIMIT 1");
    q.i64(round_id).i64(household_id).i64(person_id).i64(person_id).i64(person_id);
    if (!q.next()) return std::nullopt;
    return read_unit(q);
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<SlotRepository> open_slot_repository(Repository& repo) {
  return std::make_unique<SqlSlotRepository>(repo);
}

}  // namespace bihuan::store
