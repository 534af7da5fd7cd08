// HeldRepository over the Db driver layer, sharing the connection of a Repository.
#include <nlohmann/json.hpp>

#include "store/db.hpp"
#include "store/held_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

constexpr int kInChunk = 50;  // ids per statement of alerted(): one statement text, padded

class SqlHeldRepository final : public HeldRepository {
 public:
  explicit SqlHeldRepository(Repository& repo) : db_(database_of(repo)) {}

  std::vector<HeldTraveller> overdue(Instant held_before, std::int64_t after, int limit) override {
    // Manifest rows are the conflicts of runs of kind "manifest"; the manifest and the seat are
    // kept in the row's imported values.
    std::vector<HeldTraveller> out;
    {
      Q q(db_,
          "SELECT c.id, c.imported, c.created_at, COALESCE(p.area_code, '') FROM identity_conflicts c "
          "JOIN import_runs r ON r.id = c.run_id LEFT JOIN persons p ON p.id = c.person_id "
          "WHERE c.status = 'open' AND c.alerted_at IS NULL AND r.kind = 'manifest' AND c.created_at <= ? "
          "AND c.id > ? ORDER BY c.id LIMIT ?");
      q.i64(to_unix_ms(held_before)).i64(after).i64(limit);
      while (q.next()) {
        Cols col(q);
        HeldTraveller h;
        h.conflict_id = col.i64();
        const auto j = nlohmann::json::parse(col.str(), nullptr, false);
        if (j.is_object()) {
          h.manifest_id = j.value("manifest_id", std::int64_t{0});
          h.seat = j.value("seat", "");
          h.destination = j.value("area_code", "");
        }
        h.held_since = col.at();
        h.person_area = col.str();
        out.push_back(std::move(h));
      }
    }
    // The manifests (a flight or a train carries many travellers: each is read once).
    std::map<std::int64_t, HeldTraveller> manifests;
    for (auto& h : out) {
      if (h.manifest_id == 0) continue;
      auto [it, fresh] = manifests.try_emplace(h.manifest_id);
      if (fresh) {
        Q q(db_,
            "SELECT m.kind, m.ref, m.port_org, COALESCE(o.area_code, '') FROM arrival_manifests m "
            "LEFT JOIN orgs o ON o.id = m.port_org WHERE m.id = ?");
        q.i64(h.manifest_id);
        if (q.next()) {
          Cols col(q);
          it->second.manifest_kind = col.str();
          it->second.manifest_ref = col.str();
          it->second.port_org = col.i64();
          it->second.port_area = col.str();
        }
      }
      h.manifest_kind = it->second.manifest_kind;
      h.manifest_ref = it->second.manifest_ref;
      h.port_org = it->second.port_org;
      h.port_area = it->second.port_area;
    }
    return out;
  }

  bool mark_alerted(std::int64_t conflict_id, Instant at) override {
    return Q(db_, "UPDATE identity_conflicts SET alerted_at = ? WHERE id = ? AND status = 'open' AND alerted_at IS NULL")
               .i64(to_unix_ms(at))
               .i64(conflict_id)
               .run() > 0;
  }

  std::map<std::int64_t, Instant> alerted(const std::vector<std::int64_t>& conflict_ids) override {
    std::map<std::int64_t, Instant> out;
    static const std::string sql = [] {
      std::string s = "SELECT id, alerted_at FROM identity_conflicts WHERE alerted_at IS NOT NULL AND id IN (?";
      for (int i = 1; i < kInChunk; ++i) s += ", ?";
      return s + ")";
    }();
    for (std::size_t at = 0; at < conflict_ids.size(); at += kInChunk) {
      Q q(db_, sql);
      for (std::size_t i = at; i < at + kInChunk; ++i) q.i64(i < conflict_ids.size() ? conflict_ids[i] : -1);
      while (q.next()) {
        Cols col(q);
        const auto id = col.i64();
        out[id] = col.at();
      }
    }
    return out;
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<HeldRepository> open_held_repository(Repository& repo) {
  return std::make_unique<SqlHeldRepository>(repo);
}

}  // namespace bihuan::store
