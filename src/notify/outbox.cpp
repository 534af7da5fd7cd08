#include "notify/outbox.hpp"

#include <algorithm>
#include <cstdio>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/policy.hpp"
#include "loop/service.hpp"
#include "store/loop_repository.hpp"
#include "store/settings.hpp"

namespace bihuan::notify {

namespace {


const char* stage_zh(const std::string& s) {
  if (s == "quarantine_site") return "集中隔离";
  if (s == "home_isolation") return "居家隔离";
  if (s == "home_monitoring") return "居家健康监测";
  if (s == "hospital") return "医院";
  if (s == "transfer" || s == "destination_transfer") return "转运";
  if (s == "port_screening") return "口岸检疫";
  if (s == "destination_community") return "社区报到";
  return nullptr;
}
const char* outcome_zh(const std::string& o) {
  if (o == "negative") return "阴性";
  if (o == "positive") return "阳性";
  if (o == "inconclusive") return "不确定（需复检）";
  if (o == "invalid") return "无效（需重新采样）";
  return nullptr;
}

constexpr int kBatch = 500;
// Pages of one source read in one pass (the rest waits for the next pass).
constexpr int kPagesPerPass = 40;
// Registered persons read per round and pass for its reminders: a 25 M-person registry takes
// about 250 passes (some 20 minutes at the watcher's 5 s).
constexpr int kResidentsPerPass = 100000;

}  // namespace

Settings read_settings(store::Repository& repo) {
  Settings s;
  s.max_attempts = store::setting_int(repo, "notify.max_attempts", 5, 1, 100);
  s.keep_days = store::setting_int(repo, "notify.keep_days", 90, 1, 3650);
  s.backoff = std::chrono::seconds{store::setting_int(repo, "notify.backoff_seconds", 30, 1, 86400)};
  s.max_backoff = std::chrono::seconds{store::setting_int(repo, "notify.max_backoff_seconds", 3600, 1, 7 * 86400)};
  if (s.max_backoff < s.backoff) s.max_backoff = s.backoff;
  s.hole_wait = std::chrono::seconds{store::setting_int(repo, "notify.hole_wait_seconds", 60, 0, 86400)};
  return s;
}

std::int64_t CursorTail::advance(std::int64_t cursor, Instant now, std::chrono::seconds wait) {
  for (;;) {
    const auto next = done_.upper_bound(cursor);
    if (next == done_.end()) break;
    if (*next != cursor + 1) {
      const auto [hole, fresh] = holes_.try_emplace(*next, now);
      if (now - hole->second < wait) break;
    }
    cursor = *next;
  }
  done_.erase(done_.begin(), done_.upper_bound(cursor));
  holes_.erase(holes_.begin(), holes_.upper_bound(cursor));
  return cursor;
}

std::chrono::seconds backoff_after(const Settings& s, int failures) {
  auto wait = s.backoff;
  for (int i = 1; i < failures && wait < s.max_backoff; ++i) wait *= 2;
  return std::min(wait, s.max_backoff);
}

std::string otp_text(const std::string& code, int minutes) {
  return "【闭环】您的居民登录验证码为 " + code + "，" + std::to_string(minutes) + " 分钟内有效。请勿告诉他人。";
}
std::string order_text(const std::string& group, const std::string& stage, const std::string& start) {
  const char* s = stage_zh(stage);
  return "【闭环】您已自 " + start + " 起按" + group + "纳入管控（" + (s ? s : stage.c_str()) +
         "）。请登录居民页面查看管控计划和需遵守的措施。";
}
std::string round_reminder_text(Date day) {
  return "【闭环】今天（" + format_date(day) + "）您所在区域开展区域核酸检测，请携带身份证件就近到采样点采样，"
         "全程佩戴口罩、保持间距。行动不便的请联系网格上门采样。";
}
std::string reminder_text(Date day) {
  return "【闭环】今天（" + format_date(day) + "）是您的核酸检测日，请按通知完成采样。";
}
std::string result_text(const std::string& outcome) {
  const char* o = outcome_zh(outcome);
  return "【闭环】您的核酸检测结果：" + std::string(o ? o : outcome.c_str()) + "。详情请登录居民页面查看。";
}
std::string appeal_received_text(std::int64_t id, const std::string& due) {
  return "【闭环】您的赋码纠错申请（编号 " + std::to_string(id) + "）已受理，网格将在 " + due + " 前答复。";
}
std::string appeal_new_text(std::int64_t id, const std::string& area, const std::string& due) {
  return "新的赋码纠错申请 #" + std::to_string(id) + "（" + area + "），请在 " + due + " 前答复。";
}
std::string appeal_answered_text(std::int64_t id, bool upheld, const std::string& answer) {
  return "【闭环】您的赋码纠错申请（编号 " + std::to_string(id) + "）已答复：" + (upheld ? "已纠正" : "不予纠正") + "。" +
         answer;
}
std::string appeal_overdue_text(std::int64_t id, const std::string& area) {
  return "赋码纠错申请 #" + std::to_string(id) + "（" + area + "）超过答复期限未答复，已上报。";
}
std::string alert_text(const std::string& kind, const std::string& subject, std::int64_t alert_id) {
  return "脱管预警 #" + std::to_string(alert_id) + "：" + kind + (subject.empty() ? "" : "（" + subject + "）") + "，请及时处置。";
}
std::string task_text(const std::string& title, int level) {
  return "应急任务超时，已升级至第 " + std::to_string(level) + " 级：" + title;
}

std::int64_t enqueue_sms(store::NotifyRepository& r, std::int64_t person_id, const std::string& phone,
                         const std::string& area, const std::string& kind, const std::string& body,
                         const std::string& dedupe_key, Instant now, std::optional<Instant> expires) {
  if (phone.empty()) return 0;
  store::Message m;
  m.channel = "sms";
  m.recipient = phone;
  m.kind = kind;
  m.person_id = person_id;
  m.area_code = area;
  m.body = body;
  m.dedupe_key = dedupe_key;
  m.next_attempt_at = now;
  m.created_at = now;
  m.expires_at = expires;
  return r.enqueue(m);
}

int enqueue_staff(store::NotifyRepository& r, const std::vector<std::string>& roles, const std::string& area,
                  std::int64_t org, const std::string& kind, const std::string& body, const std::string& dedupe_key,
                  Instant now) {
  int n = 0;
  for (const auto& u : r.staff(roles)) {
    const bool by_area = !u.scope_area.empty() && !area.empty() && in_subtree(area, u.scope_area);
    const bool by_org = org != 0 && u.scope_org == org;
    if (!by_area && !by_org) continue;
    store::Message m;
    m.channel = "push";
    m.recipient = "user:" + u.username;
    m.kind = kind;
    m.area_code = area;
    m.body = body;
    m.dedupe_key = dedupe_key.empty() ? std::string() : dedupe_key + ":u" + std::to_string(u.user_id);
    m.next_attempt_at = now;
    m.created_at = now;
    if (r.enqueue(m) != 0) ++n;
  }
  return n;
}

Scanner::Scanner(store::Repository& repo, const loop::Profiles* profiles, const Clock& clock, LocalTime local)
    : repo_(repo), r_(store::open_notify_repository(repo)), profiles_(profiles), clock_(clock), local_(std::move(local)) {}

Scanner::~Scanner() = default;

int Scanner::run(Instant now) {
  int written = 0;
  const auto wait = read_settings(repo_).hole_wait;
  // Each source in a transaction of its own: its messages and its cursor commit together. `each`
  // handles the rows of one page after an id (those not handled yet, see CursorTail) and returns
  // {messages, the page's last id, rows read}; pages are read until one is short.
  auto source = [&](const std::string& name, auto&& each) {
    repo_.transaction([&] {
      auto cur = r_->cursor(name);
      if (!cur) {
        r_->set_cursor(name, r_->max_id(name));
        return;
      }
      auto& tail = tails_[name];
      std::int64_t after = *cur;
      for (int pages = 0; pages < kPagesPerPass; ++pages) {
        const auto [n, last, rows] = each(after, tail);
        written += n;
        if (rows < kBatch) break;
        after = last;
      }
      const auto moved = tail.advance(*cur, now, wait);
      if (moved != *cur) r_->set_cursor(name, moved);
    });
  };
  struct Page {
    int messages = 0;
    std::int64_t last = 0;
    int rows = 0;
  };
  std::vector<std::int64_t> new_orders;
  source("orders", [&](std::int64_t after, CursorTail& tail) {
    int n = 0;
    auto rows = r_->orders_after(after, kBatch);
    for (const auto& o : rows) {
      if (tail.handled(o.order_id)) continue;
      tail.handle(o.order_id);
      new_orders.push_back(o.order_id);
      std::string group = o.group_key;
      if (profiles_ && profiles_->has(o.profile)) {
        const auto& groups = profiles_->get(o.profile).groups;
        if (auto g = groups.find(o.group_key); g != groups.end() && !g->second.name_zh.empty()) group = g->second.name_zh;
      }
      if (enqueue_sms(*r_, o.person_id, o.phone, o.area_code, "order_notice", order_text(group, o.stage, o.start_date),
                      "order:" + std::to_string(o.order_id), now))
        ++n;
    }
    return Page{n, rows.empty() ? after : rows.back().order_id, static_cast<int>(rows.size())};
  });
  source("results", [&](std::int64_t after, CursorTail& tail) {
    int n = 0;
    // One row per person of a result (a pooled tube's members): a page holds whole results.
    auto rows = r_->results_after(after, kBatch);
    std::int64_t results = 0, previous = 0;
    for (const auto& x : rows) {
      if (x.result_id != previous) ++results;
      previous = x.result_id;
      if (tail.handled(x.result_id)) continue;  // (marked below, after the whole page)
      if (x.person_id != 0 &&
          enqueue_sms(*r_, x.person_id, x.phone, x.area_code, "test_result", result_text(x.outcome),
                      "result:" + std::to_string(x.result_id) + ":" + std::to_string(x.person_id), now))
        ++n;
    }
    for (const auto& x : rows) tail.handle(x.result_id);
    return Page{n, rows.empty() ? after : rows.back().result_id, static_cast<int>(results)};
  });
  source("alerts", [&](std::int64_t after, CursorTail& tail) {
    int n = 0;
    auto rows = r_->alerts_after(after, kBatch);
    for (const auto& a : rows) {
      if (tail.handled(a.alert_id)) continue;
      tail.handle(a.alert_id);
      n += enqueue_staff(*r_, {"grid_worker", "command_centre", "port_health", "transfer_team", "quarantine_site", "hospital"},
                         a.owner_kind == "area" ? a.owner_area : std::string(), a.owner_kind == "org" ? a.owner_org : 0,
                         "staff_alert", alert_text(a.kind, a.subject, a.alert_id), "alert:" + std::to_string(a.alert_id),
                         now);
    }
    return Page{n, rows.empty() ? after : rows.back().alert_id, static_cast<int>(rows.size())};
  });
  // Escalated response tasks: one push per task and level to the command centres over its area.
  repo_.transaction([&] {
    for (const auto& t : r_->escalated_tasks(now - std::chrono::hours{24}))
      written += enqueue_staff(*r_, {"command_centre"}, t.area_code, 0, "task_escalated", task_text(t.title, t.escalation_level),
                               "task:" + std::to_string(t.task_id) + ":" + std::to_string(t.escalation_level), now);
  });
  const Date today = local_.date_of(now);
  if (!reminded_ || *reminded_ != today) {
    // Once a day: delivered and dead messages past notify.keep_days go.
    const auto keep = std::chrono::days{read_settings(repo_).keep_days};
    repo_.transaction([&] { r_->purge(now - keep); });
  }
  if (profiles_ && (!reminded_ || *reminded_ != today)) {
    // The first pass of the day: every active order.
    std::int64_t after = 0;
    loop::Service loop(repo_, *profiles_, clock_);
    while (true) {
      auto page = loop.loop().active_orders_after(after, kBatch);
      if (page.empty()) break;
      after = page.back().order.id;
      written += remind(page, today, now);
    }
  } else if (profiles_ && !new_orders.empty()) {
    // Later passes: the orders that came since (their first test may be today).
    loop::Service loop(repo_, *profiles_, clock_);
    written += remind(loop.loop().orders_by_ids(new_orders), today, now);
  }
  reminded_ = today;
  written += remind_rounds(today, now);
  return written;
}

int Scanner::remind_rounds(Date day, Instant now) {
  int n = 0;
  for (const auto& round : r_->rounds_on(format_date(day))) {
    repo_.transaction([&] {
      const std::string name = "round:" + std::to_string(round.round_id);
      const auto cur = r_->cursor(name);
      const std::int64_t after = cur ? *cur : 0;
      if (after < 0) return;  // every resident has been reminded
      std::int64_t last = after;
      const auto page = r_->residents_after(round.round_id, after, kResidentsPerPass, last);
      for (const auto& p : page) {
        if (!in_subtree(p.area_code, round.area_code)) continue;
        if (enqueue_sms(*r_, p.person_id, p.phone, p.area_code, "round_reminder", round_reminder_text(day),
                        "round:" + std::to_string(round.round_id) + ":" + std::to_string(p.person_id), now))
          ++n;
      }
      // The end of the registry: -1 marks the round done.
      r_->set_cursor(name, last == after ? -1 : last);
    });
  }
  return n;
}

int Scanner::remind(const std::vector<store::OrderRow>& orders, Date day, Instant now) {
  int n = 0;
  loop::Service loop(repo_, *profiles_, clock_);
  repo_.transaction([&] {
    for (const auto& o : orders) {
      if (o.order.status != loop::OrderStatus::active) continue;
      policy::Plan plan;
      try {
        plan = loop.plan_of(o);
      } catch (const Error&) {
        continue;  // a plan of an unknown profile: no reminder rather than no pass
      }
      bool test_day = false;
      for (const auto& ph : plan.phases)
        if (std::find(ph.test_dates.begin(), ph.test_dates.end(), day) != ph.test_dates.end()) test_day = true;
      if (!test_day) continue;
      const auto phone = r_->phone_of(o.order.person_id);
      if (enqueue_sms(*r_, o.order.person_id, phone, o.person_area, "test_reminder", reminder_text(day),
                      "remind:" + std::to_string(o.order.id) + ":" + format_date(day), now))
        ++n;
    }
  });
  return n;
}

}  // namespace bihuan::notify
