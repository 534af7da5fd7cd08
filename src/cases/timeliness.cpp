#include "cases/timeliness.hpp"

#include "notify/outbox.hpp"
#include "store/case_repository.hpp"
#include "store/notify_repository.hpp"
#include "store/settings.hpp"
#include "store/treatment_repository.hpp"

namespace bihuan::cases {

std::string breach_text(std::int64_t case_id, const std::string& step, const std::string& due) {
  std::string what = "风险人员管控（24小时）";
  if (step == "report") what = "网络直报（2小时）";
  else if (step == "on_site") what = "到达现场（2小时）";
  else if (step == "core") what = "核心信息调查（4小时）";
  return "【流调时效】病例 " + std::to_string(case_id) + " " + what + "超时，应于 " + due + " 前完成";
}

BreachPass raise_breach_alerts(store::Repository& repo, const tracing::Rules& rules, Instant now, int batch) {
  BreachPass out;
  auto tr = store::open_treatment_repository(repo);
  auto cr = store::open_case_repository(repo);
  auto nr = store::open_notify_repository(repo);
  const auto local = store::local_time_of(repo);
  std::int64_t after = 0;
  for (;;) {
    std::vector<std::int64_t> ids;
    repo.transaction([&] {
      ids = tr->unsettled_case_ids(after, batch);
      for (const auto& k : cr->cases_by_ids(ids)) {
        // A closed case (recovered, died, excluded) has nothing left to be late for.
        if (k.status == "closed") {
          tr->set_timeliness_settled(k.id);
          ++out.settled;
          continue;
        }
        const tracing::Marks m{k.diagnosed_at, k.reported_at, k.investigation_at, k.contacts_listed_at,
                               k.contacts_controlled_at};
        for (const auto& b : tracing::breaches(m, rules, now)) {
          store::BreachAlertRow a;
          a.case_id = k.id;
          a.step = b.step;
          a.area_code = k.area_code;
          a.due_at = b.due;
          a.done_at = b.done;
          a.raised_at = now;
          if (!tr->insert_breach_alert(a)) continue;
          ++out.raised;
          out.messages += notify::enqueue_staff(*nr, {"command_centre", "investigator"}, k.area_code, 0, "case_breach",
                                                breach_text(k.id, b.step, local.format(b.due)),
                                                "case_breach:" + std::to_string(k.id) + ":" + b.step, now);
        }
        const bool all_done = k.reported_at && k.investigation_at && k.contacts_listed_at && k.contacts_controlled_at;
        if (all_done) {
          tr->set_timeliness_settled(k.id);
          ++out.settled;
        }
      }
    });
    if (ids.empty()) break;
    after = ids.back();
    if (static_cast<int>(ids.size()) < batch) break;
  }
  return out;
}

}  // namespace bihuan::cases
