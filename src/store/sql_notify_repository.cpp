// NotifyRepository and ResidentRepository over the Db driver layer, sharing the connection of a
// Repository.
#include "core/area.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "store/notify_repository.hpp"
#include "store/resident_repository.hpp"
#include "store/sql_access.hpp"

namespace bihuan::store {

namespace {

std::int64_t ms(Instant t) { return to_unix_ms(t); }

constexpr const char* kMessageCols =
    "id, channel, recipient, kind, person_id, area_code, body, dedupe_key, status, attempts, next_attempt_at, "
    "last_error, provider_id, created_at, sent_at, expires_at";
Message read_message(const Q& q) {
  Message m;
  Cols c(q);
  m.id = c.i64();
  m.channel = c.str();
  m.recipient = c.str();
  m.kind = c.str();
  m.person_id = c.i64();
  m.area_code = c.str();
  m.body = c.str();
  m.dedupe_key = c.str();
  m.status = c.str();
  m.attempts = static_cast<int>(c.i64());
  m.next_attempt_at = c.at();
  m.last_error = c.str();
  m.provider_id = c.str();
  m.created_at = c.at();
  m.sent_at = c.maybe_at();
  m.expires_at = c.maybe_at();
  return m;
}

class SqlNotifyRepository final : public NotifyRepository {
 public:
  explicit SqlNotifyRepository(Repository& repo) : db_(database_of(repo)) {}

  std::int64_t enqueue(const Message& m) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO notify_messages (channel, recipient, kind, person_id, area_code, body, dedupe_key, status, "
                 "attempts, next_attempt_at, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?) "
                 "ON CONFLICT (dedupe_key) DO NOTHING",
                 "id"));
    q.text(m.channel).text(m.recipient).text(m.kind).i64(m.person_id).text(m.area_code).text(m.body);
    if (m.dedupe_key.empty())
      q.null();
    else
      q.text(m.dedupe_key);
    q.i64(ms(m.next_attempt_at)).i64(ms(m.created_at));
    bind_opt_at(q, m.expires_at);
    return q.inserted_id();
  }
  std::vector<Message> due(Instant now, int limit) override {
    Q q(db_, std::string("SELECT ") + kMessageCols +
                 " FROM notify_messages WHERE status IN ('queued', 'failed') AND next_attempt_at <= ? "
                 "ORDER BY next_attempt_at, id LIMIT ?");
    q.i64(ms(now)).i64(limit);
    std::vector<Message> out;
    while (q.next()) out.push_back(read_message(q));
    return out;
  }
  std::optional<Message> message(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kMessageCols + " FROM notify_messages WHERE id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_message(q);
  }
  void update_delivery(const Message& m) override {
    Q q(db_, "UPDATE notify_messages SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, provider_id = ?, "
             "sent_at = ?, body = ? WHERE id = ?");
    q.text(m.status).i64(m.attempts).i64(ms(m.next_attempt_at)).text(m.last_error).text(m.provider_id);
    bind_opt_at(q, m.sent_at);
    q.text(m.body).i64(m.id);
    q.run();
  }
  PageOf<Message> list(const std::string& status, const std::string& kind, Page page) override {
    Conds w;
    if (!status.empty()) {
      w.t(status);
      w.add("status = ?");
    }
    if (!kind.empty()) {
      w.t(kind);
      w.add("kind = ?");
    }
    return page_desc<Message>(db_, std::string("SELECT ") + kMessageCols + " FROM notify_messages", "id", w, page,
                              read_message);
  }
  OutboxCounts counts() override {
    Q q(db_, "SELECT status, COUNT(*) FROM notify_messages GROUP BY status");
    OutboxCounts c;
    while (q.next()) {
      const auto s = q.str(0);
      const auto n = q.int64(1);
      if (s == "queued") c.queued = n;
      else if (s == "failed") c.failed = n;
      else if (s == "sent") c.sent = n;
      else if (s == "dead") c.dead = n;
    }
    return c;
  }
  std::int64_t expire(Instant now, const std::string& body) override {
    Q q(db_, "UPDATE notify_messages SET status = 'dead', body = ?, last_error = 'expired before delivery' "
             "WHERE status IN ('queued', 'failed') AND expires_at IS NOT NULL AND expires_at <= ?");
    q.text(body).i64(ms(now));
    return q.run();
  }

  std::int64_t purge(Instant before) override {
    Q q(db_, "DELETE FROM notify_messages WHERE status IN ('sent', 'dead') AND created_at < ?");
    q.i64(ms(before));
    return q.run();
  }

  std::optional<std::int64_t> cursor(const std::string& name) override {
    Q q(db_, "SELECT last_id FROM notify_cursors WHERE name = ?");
    q.text(name);
    if (!q.next()) return std::nullopt;
    return q.int64(0);
  }
  void set_cursor(const std::string& name, std::int64_t last_id) override {
    Q q(db_, "INSERT INTO notify_cursors (name, last_id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_id = "
             "excluded.last_id");
    q.text(name).i64(last_id);
    q.run();
  }
  std::int64_t max_id(const std::string& source) override {
    const char* sql = source == "orders"    ? "SELECT COALESCE(MAX(id), 0) FROM control_orders"
                      : source == "results" ? "SELECT COALESCE(MAX(id), 0) FROM lab_results"
                      : source == "alerts"  ? "SELECT COALESCE(MAX(id), 0) FROM alerts"
                      : source == "test_alerts" ? "SELECT COALESCE(MAX(id), 0) FROM test_alerts"
                                            : nullptr;
    if (!sql) fail(ErrorCode::internal, "unknown notification source " + source);
    Q q(db_, sql);
    return q.next() ? q.int64(0) : 0;
  }
  std::vector<OrderNotice> orders_after(std::int64_t after, int limit) override {
    Q q(db_, "SELECT o.id, o.person_id, p.phone, o.group_key, o.profile, o.stage, o.start_date, p.area_code FROM control_orders o "
             "JOIN persons p ON p.id = o.person_id WHERE o.id > ? ORDER BY o.id LIMIT ?");
    q.i64(after).i64(limit);
    std::vector<OrderNotice> out;
    while (q.next()) {
      OrderNotice n;
      Cols c(q);
      n.order_id = c.i64();
      n.person_id = c.i64();
      n.phone = c.str();
      n.group_key = c.str();
      n.profile = c.str();
      n.stage = c.str();
      n.start_date = c.str();
      n.area_code = c.str();
      out.push_back(std::move(n));
    }
    return out;
  }
  std::vector<ResultNotice> results_after(std::int64_t after, int limit) override {
    // The ids first (a page of results), then their people: a single tube's person, or the
    // members of a pooled tube.
    Q q(db_, "SELECT r.id, COALESCE(p.id, 0), COALESCE(p.phone, ''), r.outcome, COALESCE(p.area_code, '') "
             "FROM (SELECT id, person_id, tube_id, outcome FROM lab_results WHERE id > ? AND current = 1 ORDER BY id LIMIT ?) r "
             "LEFT JOIN tube_members m ON r.person_id = 0 AND m.tube_id = r.tube_id AND r.tube_id <> 0 "
             "LEFT JOIN persons p ON p.id = CASE WHEN r.person_id <> 0 THEN r.person_id ELSE m.person_id END "
             "ORDER BY r.id");
    q.i64(after).i64(limit);
    std::vector<ResultNotice> out;
    while (q.next()) {
      ResultNotice n;
      Cols c(q);
      n.result_id = c.i64();
      n.person_id = c.i64();
      n.phone = c.str();
      n.outcome = c.str();
      n.area_code = c.str();
      out.push_back(std::move(n));
    }
    return out;
  }
  std::vector<AlertNotice> alerts_after(std::int64_t after, int limit) override {
    Q q(db_, "SELECT id, kind, subject, owner_kind, owner_area, owner_org FROM alerts WHERE id > ? ORDER BY id LIMIT ?");
    q.i64(after).i64(limit);
    std::vector<AlertNotice> out;
    while (q.next()) {
      AlertNotice n;
      Cols c(q);
      n.alert_id = c.i64();
      n.kind = c.str();
      n.subject = c.str();
      n.owner_kind = c.str();
      n.owner_area = c.str();
      n.owner_org = c.i64();
      out.push_back(std::move(n));
    }
    return out;
  }
  std::vector<TaskNotice> escalated_tasks(Instant since) override {
    Q q(db_, "SELECT t.id, t.escalation_level, t.title, t.owner_role, t.area_code FROM response_tasks t "
             "JOIN response_events e ON e.id = t.event_id WHERE t.status = 'open' AND e.status = 'open' "
             "AND t.escalation_level > 0 AND t.escalated_at >= ? ORDER BY t.id LIMIT 1000");
    q.i64(ms(since));
    std::vector<TaskNotice> out;
    while (q.next()) {
      TaskNotice n;
      Cols c(q);
      n.task_id = c.i64();
      n.escalation_level = static_cast<int>(c.i64());
      n.title = c.str();
      n.owner_role = c.str();
      n.area_code = c.str();
      out.push_back(std::move(n));
    }
    return out;
  }
  std::vector<StaffMember> staff(const std::vector<std::string>& roles) override {
    std::vector<StaffMember> out;
    for (const auto& r : roles) {
      Q q(db_, "SELECT id, username, role, scope_area, scope_org FROM users WHERE active = 1 AND role = ? ORDER BY id");
      q.text(r);
      while (q.next()) {
        StaffMember m;
        Cols c(q);
        m.user_id = c.i64();
        m.username = c.str();
        m.role = c.str();
        m.scope_area = c.str();
        m.scope_org = c.i64();
        out.push_back(std::move(m));
      }
    }
    return out;
  }
  std::vector<RoundNotice> rounds_on(const std::string& day) override {
    Q q(db_, "SELECT id, area_code, day FROM test_rounds WHERE day = ? AND status = 'open' ORDER BY id");
    q.text(day);
    std::vector<RoundNotice> out;
    while (q.next()) out.push_back({q.int64(0), q.str(1), q.str(2)});
    return out;
  }
  std::vector<ResidentNotice> residents_after(std::int64_t round_id, std::int64_t after, int limit,
                                              std::int64_t& last) override {
    // A page of the whole registry in id order (the primary key: one pass over the table per
    // round, whatever the round's area); the caller keeps the round's area.
    Q q(db_, "SELECT p.id, p.phone, p.area_code, CASE WHEN p.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM "
             "round_exclusions x WHERE x.round_id = ? AND x.person_id = p.id) THEN 1 ELSE 0 END FROM persons p "
             "WHERE p.id > ? ORDER BY p.id LIMIT ?");
    q.i64(round_id).i64(after).i64(limit);
    std::vector<ResidentNotice> out;
    last = after;
    while (q.next()) {
      last = q.int64(0);
      if (q.int64(3) == 0) continue;
      out.push_back({q.int64(0), q.str(1), q.str(2)});
    }
    return out;
  }
  std::string phone_of(std::int64_t person_id) override {
    Q q(db_, "SELECT phone FROM persons WHERE id = ?");
    q.i64(person_id);
    return q.next() ? q.str(0) : std::string();
  }

 private:
  Db& db_;
};

constexpr const char* kAppealCols =
    "a.id, a.person_id, a.area_code, a.colour, a.reason, a.status, a.created_at, a.due_at, a.answer, a.answered_by, "
    "a.answered_at, a.escalation_level, a.escalated_at, COALESCE(p.name, ''), COALESCE(u.username, ''), a.colour_after";
constexpr const char* kAppealFrom =
    " FROM resident_appeals a LEFT JOIN persons p ON p.id = a.person_id LEFT JOIN users u ON u.id = a.answered_by";
AppealRow read_appeal(const Q& q) {
  AppealRow a;
  Cols c(q);
  a.id = c.i64();
  a.person_id = c.i64();
  a.area_code = c.str();
  a.colour = c.str();
  a.reason = c.str();
  a.status = c.str();
  a.created_at = c.at();
  a.due_at = c.at();
  a.answer = c.str();
  a.answered_by = c.i64();
  a.answered_at = c.maybe_at();
  a.escalation_level = static_cast<int>(c.i64());
  a.escalated_at = c.maybe_at();
  a.person_name = c.str();
  a.answered_by_name = c.str();
  a.colour_after = c.str();
  return a;
}

constexpr const char* kOtpCols = "id, person_id, salt, code_hash, created_at, expires_at, attempts, used_at";
OtpRow read_otp(const Q& q) {
  OtpRow o;
  Cols c(q);
  o.id = c.i64();
  o.person_id = c.i64();
  o.salt = c.str();
  o.code_hash = c.str();
  o.created_at = c.at();
  o.expires_at = c.at();
  o.attempts = static_cast<int>(c.i64());
  o.used_at = c.maybe_at();
  return o;
}

class SqlResidentRepository final : public ResidentRepository {
 public:
  explicit SqlResidentRepository(Repository& repo) : db_(database_of(repo)) {}

  std::int64_t insert_otp(const OtpRow& o) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO resident_otps (person_id, salt, code_hash, created_at, expires_at, attempts) "
                 "VALUES (?, ?, ?, ?, ?, 0)",
                 "id"));
    q.i64(o.person_id).text(o.salt).text(o.code_hash).i64(ms(o.created_at)).i64(ms(o.expires_at));
    return q.inserted_id();
  }
  std::optional<OtpRow> latest_otp(std::int64_t person_id) override {
    Q q(db_, std::string("SELECT ") + kOtpCols +
                 " FROM resident_otps WHERE person_id = ? AND used_at IS NULL ORDER BY id DESC LIMIT 1");
    q.i64(person_id);
    if (!q.next()) return std::nullopt;
    return read_otp(q);
  }
  std::int64_t otps_since(std::int64_t person_id, Instant since) override {
    Q q(db_, "SELECT COUNT(*) FROM resident_otps WHERE person_id = ? AND created_at >= ?");
    q.i64(person_id).i64(ms(since));
    return q.next() ? q.int64(0) : 0;
  }
  void otp_failed(std::int64_t id) override {
    Q q(db_, "UPDATE resident_otps SET attempts = attempts + 1 WHERE id = ?");
    q.i64(id);
    q.run();
  }
  bool use_otp(std::int64_t id, Instant at) override {
    Q q(db_, "UPDATE resident_otps SET used_at = ? WHERE id = ? AND used_at IS NULL");
    q.i64(ms(at)).i64(id);
    return q.run() > 0;
  }

  void put_session(const ResidentSessionRow& s) override {
    Q q(db_, "INSERT INTO resident_sessions (token_hash, person_id, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?)");
    q.text(s.token_hash).i64(s.person_id).i64(ms(s.created_at)).i64(ms(s.expires_at)).text(s.ip);
    q.run();
  }
  std::optional<ResidentSessionRow> session(const std::string& token_hash) override {
    Q q(db_, "SELECT token_hash, person_id, created_at, expires_at, ip FROM resident_sessions WHERE token_hash = ?");
    q.text(token_hash);
    if (!q.next()) return std::nullopt;
    ResidentSessionRow s;
    Cols c(q);
    s.token_hash = c.str();
    s.person_id = c.i64();
    s.created_at = c.at();
    s.expires_at = c.at();
    s.ip = c.str();
    return s;
  }
  void delete_session(const std::string& token_hash) override {
    Q q(db_, "DELETE FROM resident_sessions WHERE token_hash = ?");
    q.text(token_hash);
    q.run();
  }

  std::int64_t purge_expired(Instant now, Instant codes_before) override {
    Q s(db_, "DELETE FROM resident_sessions WHERE expires_at <= ?");
    s.i64(ms(now));
    std::int64_t n = s.run();
    Q o(db_, "DELETE FROM resident_otps WHERE created_at < ?");
    o.i64(ms(codes_before));
    return n + o.run();
  }

  std::int64_t insert_appeal(const AppealRow& a) override {
    Q q(db_, db_.dialect().insert_returning(
                 "INSERT INTO resident_appeals (person_id, area_code, colour, reason, status, created_at, due_at) "
                 "VALUES (?, ?, ?, ?, 'open', ?, ?)",
                 "id"));
    q.i64(a.person_id).text(a.area_code).text(a.colour).text(a.reason).i64(ms(a.created_at)).i64(ms(a.due_at));
    return q.inserted_id();
  }
  std::optional<AppealRow> appeal(std::int64_t id) override {
    Q q(db_, std::string("SELECT ") + kAppealCols + kAppealFrom + " WHERE a.id = ?");
    q.i64(id);
    if (!q.next()) return std::nullopt;
    return read_appeal(q);
  }
  std::vector<AppealRow> appeals_of(std::int64_t person_id, int limit) override {
    Q q(db_, std::string("SELECT ") + kAppealCols + kAppealFrom + " WHERE a.person_id = ? ORDER BY a.id DESC LIMIT ?");
    q.i64(person_id).i64(limit);
    std::vector<AppealRow> out;
    while (q.next()) out.push_back(read_appeal(q));
    return out;
  }
  PageOf<AppealRow> appeals(const Scope& s, const std::string& status, Instant now, Page page) override {
    Conds w;
    w.scope(s, "a.area_code", "");
    if (status == "overdue") {
      w.i(ms(now));
      w.add("a.status = 'open' AND a.due_at < ?");
    } else if (!status.empty()) {
      w.t(status);
      w.add("a.status = ?");
    }
    return page_desc<AppealRow>(db_, std::string("SELECT ") + kAppealCols + kAppealFrom, "a.id", w, page, read_appeal);
  }
  bool answer_appeal(std::int64_t id, const std::string& status, const std::string& answer, std::int64_t by,
                     Instant at, const std::string& colour_after) override {
    Q q(db_, "UPDATE resident_appeals SET status = ?, answer = ?, answered_by = ?, answered_at = ?, colour_after = ? "
             "WHERE id = ? AND status = 'open'");
    q.text(status).text(answer).i64(by).i64(ms(at)).text(colour_after).i64(id);
    return q.run() > 0;
  }
  std::vector<AppealRow> overdue_appeals(Instant now, int max_level, int limit) override {
    Q q(db_, std::string("SELECT ") + kAppealCols + kAppealFrom +
                 " WHERE a.status = 'open' AND a.due_at < ? AND a.escalation_level < ? ORDER BY a.due_at, a.id LIMIT ?");
    q.i64(ms(now)).i64(max_level).i64(limit);
    std::vector<AppealRow> out;
    while (q.next()) out.push_back(read_appeal(q));
    return out;
  }
  void set_appeal_escalation(std::int64_t id, int level, Instant at) override {
    Q q(db_, "UPDATE resident_appeals SET escalation_level = ?, escalated_at = ? WHERE id = ?");
    q.i64(level).i64(ms(at)).i64(id);
    q.run();
  }

 private:
  Db& db_;
};

}  // namespace

std::unique_ptr<NotifyRepository> open_notify_repository(Repository& repo) {
  return std::make_unique<SqlNotifyRepository>(repo);
}
std::unique_ptr<ResidentRepository> open_resident_repository(Repository& repo) {
  return std::make_unique<SqlResidentRepository>(repo);
}

}  // namespace bihuan::store
