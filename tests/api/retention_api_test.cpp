// Retention over HTTP: settings (admin only), the purge on demand, the daily purge of
// `serve` on a fixed clock, and restore refused while the server holds the database.
#include "support.hpp"

#include <atomic>
#include <thread>

#include "core/error.hpp"
#include "store/backup.hpp"
#include "store/migrations.hpp"

namespace bihuan::testing {
namespace {

// A clock the test moves while the server's purge thread reads it.
class SharedClock final : public Clock {
 public:
  explicit SharedClock(Instant t) : ms_(to_unix_ms(t)) {}
  Instant now() const override { return from_unix_ms(ms_.load()); }
  void set(Instant t) { ms_ = to_unix_ms(t); }

 private:
  std::atomic<std::int64_t> ms_;
};

class RetentionApi : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path_ = (dir_.path() / "api.db").string();
    db_url_ = "sqlite:" + db_path_;
    auto repo = store::open_repository(db_url_);
    world_.seed(*repo, clock_.now());
    // An old audit entry (four years before the clock) for the purge to find.
    store::AuditRecord a;
    a.at = clock_.now() - std::chrono::days{4 * 365};
    a.action = "login";
    a.username = "old";
    repo->append_audit(a);
    api::ServerOptions o;
    o.db_url = db_url_;
    o.port = 0;
    o.io_threads = 1;
    o.db_threads = 2;
    o.clock = &clock_;
    o.purge_daily = true;
    o.purge_check_interval = std::chrono::milliseconds(10);
    server_ = std::make_unique<api::Server>(o);
    server_->start();
  }
  void TearDown() override {
    if (!server_) return;
    server_->stop();
    server_->wait();
  }
  std::vector<store::AuditRecord> audits(const std::string& action) { return audit_rows(db_url_, action); }

  TempDir dir_;
  // 2026-01-01T12:00:00Z = 20:00 in Beijing.
  SharedClock clock_{*parse_instant("2026-01-01T12:00:00Z")};
  World world_;
  std::string db_path_, db_url_;
  std::unique_ptr<api::Server> server_;
};

TEST_F(RetentionApi, SettingsAreTheAdministratorsAndAudited) {
  auto admin = login(server_->port(), "admin");
  auto r = admin.get("/api/settings/retention");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.j();
  EXPECT_EQ(j["daily_at"], "03:30");
  bool seen = false;
  for (const auto& rule : j["rules"])
    if (rule["name"] == "audit_log") {
      seen = true;
      EXPECT_EQ(rule["days"], 1095);
      EXPECT_EQ(rule["min_days"], 183);
    }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(j["last_purge"].is_null());

  r = admin.put("/api/settings/retention", R"({"days":{"closed_orders":365},"daily_at":"02:15"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["daily_at"], "02:15");
  const auto after_put = r.j();
  for (const auto& rule : after_put["rules"])
    if (rule["name"] == "closed_orders") {
      EXPECT_EQ(rule["days"], 365);
    }
  auto a = audits("retention.settings");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].username, "admin");
  EXPECT_EQ(json::parse(a[0].detail)["changed"]["closed_orders"], json::array({180, 365}));

  // Refused values name the field and change nothing.
  r = admin.put("/api/settings/retention", R"({"days":{"audit_log":30,"closed_orders":90}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "days.audit_log");
  r = admin.put("/api/settings/retention", R"({"days":{"persons":30}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "days.persons");
  r = admin.put("/api/settings/retention", R"({"daily_at":"25:00"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "daily_at");
  r = admin.put("/api/settings/retention", R"({"days":{"closed_orders":"many"}})");
  EXPECT_EQ(r.status, 400);
  const auto unchanged = admin.get("/api/settings/retention").j();
  for (const auto& rule : unchanged["rules"])
    if (rule["name"] == "closed_orders") {
      EXPECT_EQ(rule["days"], 365);
    }

  for (const char* user : {"grid_a", "auditor", "investigator"}) {
    auto c = login(server_->port(), user);
    EXPECT_EQ(c.get("/api/settings/retention").status, 403) << user;
    EXPECT_EQ(c.put("/api/settings/retention", R"({"daily_at":"01:00"})").status, 403) << user;
    EXPECT_EQ(c.post("/api/admin/purge?dry_run=1", "").status, 403) << user;
  }
  EXPECT_EQ(Client(server_->port()).get("/api/settings/retention").status, 401);
}

// Runs POST /api/admin/purge and follows its job to the end; returns the finished job.
json purge_job(Client& c, const std::string& query) {
  auto r = c.post("/api/admin/purge" + query, "");
  EXPECT_EQ(r.status, 202) << r.body;
  const auto id = r.j().value("job_id", std::int64_t{0});
  json job;
  for (int i = 0; i < 3000; ++i) {
    job = c.get("/api/jobs/" + std::to_string(id)).j();
    if (job["status"] == "done" || job["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return job;
}

TEST_F(RetentionApi, PurgeOnDemandRunsAsAJobReportsAndAudits) {
  auto admin = login(server_->port(), "admin");
  auto job = purge_job(admin, "?dry_run=1");
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["kind"], "purge");
  EXPECT_EQ(job["report"]["dry_run"], true);
  EXPECT_EQ(job["report"]["rows"]["audit_log"], 1);
  EXPECT_EQ(admin.post("/api/admin/purge?dry_run=maybe", "").status, 400);
  job = purge_job(admin, "");
  ASSERT_EQ(job["status"], "done") << job.dump();
  EXPECT_EQ(job["report"]["dry_run"], false);
  EXPECT_EQ(job["report"]["rows"]["audit_log"], 1);
  auto p = audits("retention.purge");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].username, "admin");
  EXPECT_EQ(json::parse(p[0].detail)["trigger"], "api");
  auto last = admin.get("/api/settings/retention").j()["last_purge"];
  EXPECT_EQ(last["username"], "admin");
  EXPECT_EQ(last["report"]["rows"]["audit_log"], 1);
}

TEST_F(RetentionApi, ServeRunsThePurgeDailyAtTheLocalTime) {
  // 20:00 Beijing time; the purge is due at 03:30 Beijing time (19:30 UTC).
  auto wait_for_purges = [&](std::size_t n) {
    for (int i = 0; i < 3000 && audits("retention.purge").size() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return audits("retention.purge").size();
  };
  clock_.set(*parse_instant("2026-01-01T19:29:00Z"));
  // Give the purge thread many wakes at 03:29: it must not run yet.
  for (int i = 0; i < 20; ++i) {
    auto admin_probe = audits("retention.purge");
    ASSERT_TRUE(admin_probe.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  clock_.set(*parse_instant("2026-01-01T19:31:00Z"));
  ASSERT_EQ(wait_for_purges(1), 1u);
  auto p = audits("retention.purge");
  EXPECT_EQ(p[0].username, "scheduler");
  EXPECT_EQ(json::parse(p[0].detail)["trigger"], "schedule");
  EXPECT_EQ(json::parse(p[0].detail)["rows"]["audit_log"], 1);
  // The next day's run, once.
  clock_.set(*parse_instant("2026-01-02T19:31:00Z"));
  EXPECT_EQ(wait_for_purges(2), 2u);
}

TEST_F(RetentionApi, RestoreIsRefusedWhileTheServerHoldsTheDatabase) {
  const auto copy = (dir_.path() / "copy.db").string();
  store::backup_sqlite(db_path_, copy);
  try {
    store::restore_sqlite(copy, db_path_, true);
    ADD_FAILURE() << "restore went ahead under a running server";
  } catch (const bihuan::Error& e) {
    EXPECT_EQ(e.code(), bihuan::ErrorCode::unavailable) << e.what();
  }
  server_->stop();
  server_->wait();
  server_.reset();
  EXPECT_EQ(store::restore_sqlite(copy, db_path_, true).schema_version, store::latest_schema_version());
}

}  // namespace
}  // namespace bihuan::testing
