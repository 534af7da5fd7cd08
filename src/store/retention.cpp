#include "store/retention.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "store/db.hpp"
#include "store/loop_repository.hpp"
#include "store/scan_facts_cache.hpp"
#include "store/scan_queue.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

using nlohmann::json;

// Orders a purge may delete: released or cancelled before the cut-off, and their person has no
// active order (an active order keeps every earlier order of the same person).
constexpr const char* kOrdersGoneWhere =
    "o.status <> 'active' AND o.since < ? AND NOT EXISTS "
    "(SELECT 1 FROM control_orders a WHERE a.person_id = o.person_id AND a.status = 'active')";
const std::string kOrdersGone = std::string("SELECT o.id FROM control_orders o WHERE ") + kOrdersGoneWhere;

// Passenger rows a purge may delete: their manifest arrived before the cut-off and their person
// has no active order.
constexpr const char* kPassengersGone =
    "SELECT p.id FROM manifest_passengers p JOIN arrival_manifests m ON m.id = p.manifest_id "
    "WHERE m.arrived_at < ? AND NOT EXISTS "
    "(SELECT 1 FROM control_orders a WHERE a.person_id = p.person_id AND a.status = 'active')";

std::int64_t count(Db& db, const std::string& sql, std::int64_t cut) {
  Q q(db, sql);
  q.i64(cut);
  return q.next() ? q.int64(0) : 0;
}

// Rows that hang off an order, by table, as "<col> IN (<orders>)" deletes or counts.
std::string order_child_where(const std::string& table, const std::string& orders) {
  if (table == "alert_events") return "alert_id IN (SELECT id FROM alerts WHERE order_id IN (" + orders + "))";
  if (table == "control_orders") return "id IN (" + orders + ")";
  return "order_id IN (" + orders + ")";
}

struct Runner {
  Repository& repo;
  Db& db;
  const PurgeOptions& opt;
  PurgeReport& report;

  int limit() const { return std::max(1, opt.batch_rows); }

  // Deletes batch by batch until a batch deletes fewer rows than the limit.
  void delete_batches(const std::string& table, const std::string& sql, std::int64_t cut) {
    for (;;) {
      std::int64_t n = 0;
      repo.transaction([&] { n = Q(db, sql).i64(cut).i64(limit()).run(); });
      report.rows[table] += n;
      if (n < limit()) break;
    }
  }

  void closed_orders(const retention::RuleDef& rule, std::int64_t cut) {
    if (opt.dry_run) {
      for (const auto& t : rule.tables)
        report.rows[t] += count(db, "SELECT COUNT(*) FROM " + t + " WHERE " + order_child_where(t, kOrdersGone), cut);
      return;
    }
    const int per_batch = std::max(1, limit() / 20);
    // Keyset on the order id: orders that stay (their person has an active order) are passed
    // over once, not rescanned by every batch.
    const std::string pick = std::string("SELECT o.id, o.person_id FROM control_orders o WHERE o.id > ? AND ") +
                             kOrdersGoneWhere + " ORDER BY o.id LIMIT ?";
    std::int64_t after = 0;
    for (;;) {
      std::vector<std::pair<std::int64_t, std::int64_t>> ids;
      repo.transaction([&] {
        ids.clear();
        {
          Q q(db, pick);
          q.i64(after).i64(cut).i64(per_batch);
          while (q.next()) ids.emplace_back(q.int64(0), q.int64(1));
        }
        std::map<std::string, std::int64_t> n;
        for (auto [id, person] : ids) {
          // A passenger row follows the manifests rule; it just no longer points at the order.
          Q(db, "UPDATE manifest_passengers SET order_id = 0 WHERE person_id = ? AND order_id = ?").i64(person).i64(id).run();
          for (const auto& t : rule.tables) {
            const std::string where = t == "alert_events" ? "alert_id IN (SELECT id FROM alerts WHERE order_id = ?)"
                                      : t == "control_orders" ? "id = ?"
                                                              : "order_id = ?";
            n[t] += Q(db, "DELETE FROM " + t + " WHERE " + where).i64(id).run();
          }
        }
        for (auto& [t, k] : n) report.rows[t] += k;
      });
      if (!ids.empty()) after = ids.back().first;
      if (static_cast<int>(ids.size()) < per_batch) break;
    }
  }

  // Manifests that a traveller held by an open identity conflict still needs: the order is
  // created from the manifest (port, arrival, group) once the conflict is resolved. Open
  // conflicts are few; the manifest id is in the conflict's imported values.
  std::string held_manifests() {
    std::vector<std::int64_t> ids;
    Q q(db, "SELECT imported FROM identity_conflicts WHERE status = 'open'");
    while (q.next()) {
      const json j = json::parse(q.str(0), nullptr, false);
      if (j.is_object() && j.contains("manifest_id") && j["manifest_id"].is_number_integer())
        ids.push_back(j["manifest_id"].get<std::int64_t>());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::string out;
    for (auto id : ids) {
      out += out.empty() ? " AND m.id NOT IN (" : ", ";
      out += std::to_string(id);
    }
    if (!out.empty()) out += ')';
    return out;
  }

  void manifests(std::int64_t cut) {
    const std::string manifests_gone = "SELECT m.id FROM arrival_manifests m WHERE m.arrived_at < ?" + held_manifests() +
                                       " AND NOT EXISTS (SELECT 1 FROM manifest_passengers p WHERE p.manifest_id = m.id";
    if (opt.dry_run) {
      report.rows["manifest_passengers"] += count(db, "SELECT COUNT(*) FROM (" + std::string(kPassengersGone) + ") x", cut);
      // A manifest goes when none of its passengers stays.
      report.rows["arrival_manifests"] +=
          count(db,
                "SELECT COUNT(*) FROM (" + manifests_gone +
                    " AND EXISTS (SELECT 1 FROM control_orders a WHERE a.person_id = p.person_id AND a.status = "
                    "'active'))) x",
                cut);
      return;
    }
    // Keyset on the passenger id, as for orders: rows that stay are passed over once.
    const std::string pick = std::string(kPassengersGone) + " AND p.id > ? ORDER BY p.id LIMIT ?";
    std::int64_t after = 0;
    for (;;) {
      std::vector<std::int64_t> ids;
      repo.transaction([&] {
        ids.clear();
        {
          Q q(db, pick);
          q.i64(cut).i64(after).i64(limit());
          while (q.next()) ids.push_back(q.int64(0));
        }
        std::int64_t n = 0;
        for (auto id : ids) n += Q(db, "DELETE FROM manifest_passengers WHERE id = ?").i64(id).run();
        report.rows["manifest_passengers"] += n;
      });
      if (!ids.empty()) after = ids.back();
      if (static_cast<int>(ids.size()) < limit()) break;
    }
    delete_batches("arrival_manifests",
                   "DELETE FROM arrival_manifests WHERE id IN (" + manifests_gone + ") ORDER BY m.id LIMIT ?)", cut);
  }

  // Import runs finished (or undone) before the cut-off with no open identity conflict: the
  // previous values kept for undo, the resolved conflicts and the run. One run at a time, its
  // rows in batches (a run can hold hundreds of thousands).
  void import_runs(std::int64_t cut) {
    const std::string gone =
        "r.status <> 'running' AND COALESCE(r.undone_at, r.finished_at, r.created_at) < ? AND NOT EXISTS "
        "(SELECT 1 FROM identity_conflicts c WHERE c.run_id = r.id AND c.status = 'open')";
    const std::string runs_gone = "SELECT r.id FROM import_runs r WHERE " + gone;
    if (opt.dry_run) {
      report.rows["import_run_rows"] += count(db, "SELECT COUNT(*) FROM import_run_rows WHERE run_id IN (" + runs_gone + ")", cut);
      report.rows["identity_conflicts"] +=
          count(db, "SELECT COUNT(*) FROM identity_conflicts WHERE run_id IN (" + runs_gone + ")", cut);
      report.rows["import_runs"] += count(db, "SELECT COUNT(*) FROM (" + runs_gone + ") x", cut);
      return;
    }
    std::int64_t after = 0;
    for (;;) {
      std::int64_t run = 0;
      {
        Q q(db, "SELECT r.id FROM import_runs r WHERE r.id > ? AND " + gone + " ORDER BY r.id LIMIT 1");
        q.i64(after).i64(cut);
        if (q.next()) run = q.int64(0);
      }
      if (run == 0) break;
      after = run;
      for (;;) {
        std::int64_t n = 0;
        repo.transaction([&] {
          n = Q(db, "DELETE FROM import_run_rows WHERE run_id = ? AND (entity, row_id) IN (SELECT entity, row_id FROM "
                    "import_run_rows WHERE run_id = ? ORDER BY entity, row_id LIMIT ?)")
                  .i64(run)
                  .i64(run)
                  .i64(limit())
                  .run();
        });
        report.rows["import_run_rows"] += n;
        if (n < limit()) break;
      }
      repo.transaction([&] {
        // Checked again under the write lock: the run is still finished and has no open conflict.
        Q still(db, "SELECT 1 FROM import_runs r WHERE r.id = ? AND " + gone);
        still.i64(run).i64(cut);
        if (!still.next()) return;
        report.rows["identity_conflicts"] += Q(db, "DELETE FROM identity_conflicts WHERE run_id = ?").i64(run).run();
        report.rows["import_runs"] += Q(db, "DELETE FROM import_runs WHERE id = ?").i64(run).run();
      });
    }
  }

  // Rows of one table matching `where` (one `?`: the cut-off).
  void single(const std::string& table, const std::string& key, const std::string& where, std::int64_t cut) {
    if (opt.dry_run) {
      report.rows[table] += count(db, "SELECT COUNT(*) FROM " + table + " WHERE " + where, cut);
      return;
    }
    delete_batches(table,
                   "DELETE FROM " + table + " WHERE " + key + " IN (SELECT " + key + " FROM " + table + " WHERE " +
                       where + " ORDER BY " + key + " LIMIT ?)",
                   cut);
  }

  void rule(const retention::RuleDef& r, std::int64_t cut) {
    if (r.name == "closed_orders") return closed_orders(r, cut);
    if (r.name == "manifests") return manifests(cut);
    if (r.name == "import_runs") return import_runs(cut);
    if (r.name == "jobs") return single("jobs", "id", "status IN ('done', 'failed', 'cancelled') AND finished_at < ?", cut);
    // The scan log is append-only, so its oldest entries have the lowest ids.
    if (r.name == "scans") return single("venue_scans", "id", "entered_at < ?", cut);
    if (r.name == "sessions") return single("sessions", "token_hash", "expires_at < ?", cut);
    if (r.name == "audit_log") return single("audit_log", "id", "at < ?", cut);
    fail(ErrorCode::internal, "retention rule without a purge: " + r.name);
  }
};

std::string instant_json(const std::optional<Instant>& t) { return t ? format_instant(*t) : std::string{}; }

int parse_int(const std::string& s, int fallback) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() ? v : fallback;
}

}  // namespace

std::int64_t PurgeReport::total() const {
  std::int64_t n = 0;
  for (const auto& [t, k] : rows) n += k;
  return n;
}

retention::Settings retention_settings(Repository& repo) {
  auto s = retention::default_settings();
  for (const auto& r : retention::rule_defs()) {
    auto v = repo.setting(retention::days_key(r.name));
    if (!v) continue;
    const int days = parse_int(*v, r.default_days);
    try {
      retention::validate_days(r, days);
      s.days[r.name] = days;
    } catch (const Error&) {
      // A value that no longer passes (e.g. a raised minimum) falls back to the default.
    }
  }
  if (auto v = repo.setting(retention::kDailyAtKey))
    if (auto m = retention::parse_time_of_day(*v)) s.daily_at_minutes = *m;
  return s;
}

void save_retention_settings(Repository& repo, const retention::Settings& s) {
  for (const auto& [name, days] : s.days) {
    const auto* r = retention::find_rule(name);
    if (!r) fail(ErrorCode::invalid_argument, "no retention rule named " + name, name);
    retention::validate_days(*r, days);
  }
  if (s.daily_at_minutes < 0 || s.daily_at_minutes >= 24 * 60)
    fail(ErrorCode::invalid_argument, "daily_at must be 00:00..23:59", "daily_at");
  repo.transaction([&] {
    for (const auto& [name, days] : s.days) repo.set_setting(retention::days_key(name), std::to_string(days));
    repo.set_setting(retention::kDailyAtKey, retention::format_time_of_day(s.daily_at_minutes));
  });
}

PurgeReport purge(Repository& repo, const retention::Settings& s, Instant now, const PurgeOptions& opt) {
  static std::mutex running;
  std::unique_lock lock(running, std::try_to_lock);
  if (!lock.owns_lock()) fail(ErrorCode::conflict, "a purge is already running");
  PurgeReport report;
  report.dry_run = opt.dry_run;
  report.at = now;
  move_scan_queue(repo);  // the scan log's queued visits first (SQLite, store/scan_queue.hpp)
  if (!opt.dry_run) trim_scan_fact_changes(repo);  // store/scan_facts_cache.hpp
  Db& db = database_of(repo);
  Runner run{repo, db, opt, report};
  const auto& rules = retention::rule_defs();
  for (const auto& r : rules) {
    auto it = s.days.find(r.name);
    report.cutoffs[r.name] = retention::cutoff(r, it == s.days.end() ? r.default_days : it->second, now);
    for (const auto& t : r.tables) report.rows[t] = 0;
  }
  std::string error;
  std::exception_ptr failure;
  try {
    std::size_t done = 0;
    for (const auto& r : rules) {
      if (const auto& cut = report.cutoffs[r.name]) run.rule(r, to_unix_ms(*cut));
      if (opt.progress) opt.progress(static_cast<double>(++done) / static_cast<double>(rules.size()));
    }
  } catch (const std::exception& e) {
    error = e.what();
    failure = std::current_exception();
  }
  json detail = json::parse(purge_report_json(report));
  detail["trigger"] = opt.trigger;
  if (!error.empty()) detail["error"] = error;
  AuditRecord a;
  a.at = now;
  a.user_id = opt.user_id;
  a.username = opt.username;
  a.ip = opt.ip;
  a.action = "retention.purge";
  a.entity = "retention";
  a.detail = detail.dump();
  repo.append_audit(a);
  if (failure) std::rethrow_exception(failure);
  return report;
}

std::string purge_report_json(const PurgeReport& r) {
  json cut = json::object();
  for (const auto& [name, t] : r.cutoffs) cut[name] = t ? json(instant_json(t)) : json(nullptr);
  return json{{"dry_run", r.dry_run}, {"at", format_instant(r.at)}, {"cutoffs", cut}, {"rows", r.rows},
              {"total", r.total()}}
      .dump();
}

std::optional<AuditRecord> last_purge(Repository& repo) {
  AuditQuery q;
  q.action = "retention.purge";
  auto page = repo.find_audit(q, Page{0, 1});
  if (page.items.empty()) return std::nullopt;
  return page.items.front();
}

}  // namespace bihuan::store
