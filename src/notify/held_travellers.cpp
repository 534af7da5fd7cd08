#include "notify/held_travellers.hpp"

#include <set>

#include "notify/outbox.hpp"
#include "store/held_repository.hpp"
#include "store/notify_repository.hpp"
#include "store/settings.hpp"

namespace bihuan::notify {

int held_traveller_minutes(store::Repository& repo) {
  // [loop.held_traveller_minutes] the protocol gives a port no figure for an unresolved identity;
  // a local setting, defaulting to the two hours the loop gives a handover to a transfer team.
  return store::setting_int(repo, "loop.held_traveller_minutes", 120, 1, 7 * 24 * 60);
}

std::string held_text(std::int64_t conflict_id, const std::string& manifest_kind, const std::string& manifest_ref,
                      const std::string& seat, int minutes) {
  std::string what = manifest_kind == "flight" ? "航班" : manifest_kind == "train" ? "车次" : "入境批次";
  std::string s = "【身份冲突滞留】" + what + " " + manifest_ref;
  if (!seat.empty()) s += " 座位 " + seat;
  s += " 的入境人员身份待核实已超过 " + std::to_string(minutes) + " 分钟，尚未纳入闭环管理（冲突 " +
       std::to_string(conflict_id) + "），请尽快核实处理，防止脱管";
  return s;
}

HeldPass raise_held_traveller_alerts(store::Repository& repo, Instant now, int batch) {
  HeldPass out;
  const int minutes = held_traveller_minutes(repo);
  const Instant before = now - std::chrono::minutes(minutes);
  auto held = store::open_held_repository(repo);
  auto nr = store::open_notify_repository(repo);
  std::int64_t after = 0;
  for (;;) {
    std::vector<store::HeldTraveller> rows;
    repo.transaction([&] {
      rows = held->overdue(before, after, batch);
      for (const auto& h : rows) {
        // Resolved (or alerted by another process) since it was read: nothing to say.
        if (!held->mark_alerted(h.conflict_id, now)) continue;
        ++out.alerted;
        const std::string text = held_text(h.conflict_id, h.manifest_kind, h.manifest_ref, h.seat, minutes);
        const std::string key = "held_traveller:" + std::to_string(h.conflict_id);
        // The port's own accounts, then the command centres that can resolve the conflict (the
        // registered person's area) and that will receive the traveller (the destination).
        out.messages += enqueue_staff(*nr, {"port_health"}, "", h.port_org, "held_traveller", text, key, now);
        std::set<std::string> areas;
        for (const auto* a : {&h.person_area, &h.destination})
          if (!a->empty()) areas.insert(*a);
        // An account whose scope holds both areas is told once (the key is per account).
        for (const auto& a : areas)
          out.messages += enqueue_staff(*nr, {"command_centre"}, a, 0, "held_traveller", text, key, now);
      }
    });
    if (rows.empty() || static_cast<int>(rows.size()) < batch) break;
    after = rows.back().conflict_id;
  }
  return out;
}

}  // namespace bihuan::notify
