// Operations: GET /metrics, the access log, X-Forwarded-For from trusted proxies only, and the
// deployment's local time seen through the API with a fixed clock.
#include "support.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include "api/access_log.hpp"
#include "api/client_ip.hpp"
#include "core/error.hpp"
#include "metrics/metrics.hpp"

namespace bihuan::testing {
namespace {

// ------------------------------------------------------------------ units

TEST(Cidr, ParsesAndMatchesV4AndV6) {
  auto b = api::Cidr::parse("10.1.0.0/16");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->contains("10.1.2.3"));
  EXPECT_TRUE(b->contains("::ffff:10.1.200.1"));
  EXPECT_FALSE(b->contains("10.2.0.1"));
  EXPECT_FALSE(b->contains("not an address"));
  auto one = api::Cidr::parse("192.168.1.7");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->contains("192.168.1.7"));
  EXPECT_FALSE(one->contains("192.168.1.8"));
  auto v6 = api::Cidr::parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains("fd12::1"));
  EXPECT_FALSE(v6->contains("fe80::1"));
  EXPECT_FALSE(v6->contains("10.0.0.1"));
  EXPECT_TRUE(api::Cidr::parse("0.0.0.0/0")->contains("8.8.8.8"));
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "::/129", "x/8", "10.0.0.0/8x"})
    EXPECT_FALSE(api::Cidr::parse(bad)) << bad;
}

TEST(ClientAddress, XffOnlyFromTrustedProxies) {
  const std::vector<api::Cidr> trusted = {*api::Cidr::parse("10.0.0.0/8")};
  // An untrusted peer: its header is ignored whatever it says.
  EXPECT_EQ(api::client_address("203.0.113.5", "198.51.100.1", trusted), "203.0.113.5");
  EXPECT_EQ(api::client_address("203.0.113.5", "198.51.100.1", {}), "203.0.113.5");
  // A trusted proxy: the right-most address that is not itself a trusted proxy.
  EXPECT_EQ(api::client_address("10.0.0.2", "198.51.100.1", trusted), "198.51.100.1");
  EXPECT_EQ(api::client_address("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", trusted), "198.51.100.1");
  // A client cannot prepend a fake address to get past the right-most untrusted entry.
  EXPECT_EQ(api::client_address("10.0.0.2", "127.0.0.1,198.51.100.1", trusted), "198.51.100.1");
  // No header, or garbage: the proxy itself (or the last trusted hop).
  EXPECT_EQ(api::client_address("10.0.0.2", "", trusted), "10.0.0.2");
  EXPECT_EQ(api::client_address("10.0.0.2", "unknown", trusted), "10.0.0.2");
  EXPECT_EQ(api::client_address("10.0.0.2", "198.51.100.1, garbage, 10.0.0.3", trusted), "10.0.0.3");
  EXPECT_EQ(api::client_address("::ffff:10.0.0.2", "2001:db8::1", trusted), "2001:db8::1");
}

TEST(Metrics, ExpositionFormat) {
  auto& c = metrics::counter("bihuan_test_things_total", "Things \"counted\"\nin a test", {{"kind", "a\"b\\c"}});
  c.inc(3);
  auto& h = metrics::histogram("bihuan_test_seconds", "A test histogram", {}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = metrics::exposition();
  EXPECT_NE(text.find("# TYPE bihuan_test_things_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP bihuan_test_things_total Things \"counted\"\\nin a test\n"), std::string::npos);
  EXPECT_NE(text.find("bihuan_test_things_total{kind=\"a\\\"b\\\\c\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("bihuan_test_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("bihuan_test_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("bihuan_test_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("bihuan_test_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("bihuan_test_seconds_sum 5.55"), std::string::npos);
  EXPECT_THROW(metrics::gauge("bihuan_test_things_total", "same name, other type"), std::logic_error);
  EXPECT_THROW(metrics::counter("bad name", "x"), std::logic_error);
  {
    auto w = metrics::watch("bihuan_test_depth", "A watched value", {{"q", "x"}}, [] { return 42.0; });
    EXPECT_NE(metrics::exposition().find("bihuan_test_depth{q=\"x\"} 42\n"), std::string::npos);
  }
  EXPECT_EQ(metrics::exposition().find("bihuan_test_depth{q=\"x\"}"), std::string::npos);  // unregistered
}

TEST(AccessLogLine, IsOneJsonObject) {
  const auto line = api::AccessLog::line({*parse_instant("2026-11-29T08:15:00.123Z"), "GET", "/api/persons/{id}", 200,
                                          1.23456, 7});
  EXPECT_EQ(line,
            R"({"time":"2026-11-29T08:15:00.123Z","method":"GET","route":"/api/persons/{id}","status":200,)"
            R"("duration_ms":1.235,"user_id":7})");
}

// ------------------------------------------------------------------ a server per test

// Samples of the Prometheus text: "name{labels}" -> value. Fails the test on a malformed line.
std::map<std::string, double> parse_metrics(const std::string& text) {
  static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (\S+)$)");
  static const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, comment)) << line;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not a sample: " << line;
      continue;
    }
    const std::string value = m[5].str();
    out[line.substr(0, line.size() - value.size() - 1)] = value == "+Inf" ? 1e300 : std::stod(value);
  }
  return out;
}

class Ops : public ::testing::Test {
 protected:
  void start(api::ServerOptions o) {
    db_url_ = "sqlite:" + (dir_.path() / "ops.db").string();
    {
      auto repo = store::open_repository(db_url_);
      world_.seed(*repo, clock_.now());
      // Born on a 30 November: a year older from 00:00 local on the 30th.
      Person p;
      p.doc_number = make_id("20001130", 44);
      p.name = "王五";
      p.birth_date = *parse_date("2000-11-30");
      p.sex = Sex::male;
      p.area_code = World::kGridA;
      p.created_at = p.updated_at = clock_.now();
      std::vector<Person> ps{p};
      repo->upsert_persons(ps);
      birthday_person_ = ps.front().id;
    }
    o.db_url = db_url_;
    o.port = 0;
    o.io_threads = 1;
    o.db_threads = 2;
    o.clock = &clock_;
    o.policies_dir = "";
    server_ = std::make_unique<api::Server>(o);
    server_->start();
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      server_->wait();
    }
  }
  unsigned short port() const { return server_->port(); }
  std::vector<store::AuditRecord> audit_rows(const std::string& action) { return bihuan::testing::audit_rows(db_url_, action); }

  TempDir dir_;
  World world_;
  std::string db_url_;
  ManualClock clock_{*parse_instant("2026-11-29T15:59:00Z")};
  std::int64_t birthday_person_ = 0;
  std::unique_ptr<api::Server> server_;
};

TEST_F(Ops, MetricsTextParsesAndCountsARequest) {
  start({});
  Client c(port());
  const std::string key = R"(bihuan_http_requests_total{route="/api/health",method="GET",status="200"})";
  const std::string count = R"(bihuan_http_request_duration_seconds_count{route="/api/health",method="GET"})";
  auto before = c.get("/metrics");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(before.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  auto m0 = parse_metrics(before.body);
  ASSERT_EQ(c.get("/api/health").status, 200);
  auto m1 = parse_metrics(c.get("/metrics").body);
  EXPECT_EQ(m1[key] - m0[key], 1.0);
  EXPECT_EQ(m1[count] - m0[count], 1.0);
  EXPECT_GE(m1["bihuan_db_worker_wait_seconds_count"] - m0["bihuan_db_worker_wait_seconds_count"], 1.0);
  EXPECT_TRUE(m1.count("bihuan_audit_queue_depth"));
  // The scrape itself is counted under its own template; a person's number never is a label.
  EXPECT_GE(m1[R"(bihuan_http_requests_total{route="/metrics",method="GET",status="200"})"], 1.0);
  auto admin = login(port(), "admin");
  ASSERT_EQ(admin.get("/api/persons/" + std::to_string(world_.person_a)).status, 200);
  auto m2 = parse_metrics(c.get("/metrics").body);
  EXPECT_GE(m2[R"(bihuan_http_requests_total{route="/api/persons/{id}",method="GET",status="200"})"], 1.0);
  for (const auto& [k, v] : m2) EXPECT_EQ(k.find(world_.doc_a), std::string::npos) << k;
}

TEST_F(Ops, MetricsOnlyForAllowedClients) {
  api::ServerOptions o;
  o.metrics_from = {"10.0.0.0/8"};  // not loopback
  start(o);
  auto r = Client(port()).get("/metrics");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.j()["code"], "not_found");
}

TEST_F(Ops, XffFromUntrustedPeerIsIgnored) {
  api::ServerOptions o;
  o.trusted_proxies = {"10.0.0.0/8"};  // the test's peer, 127.0.0.1, is not one of them
  start(o);
  Client c(port());
  c.headers = {{"X-Forwarded-For", "203.0.113.9"}};
  EXPECT_EQ(c.post("/api/auth/login", R"({"username":"grid_b","password":"wrong-password!"})").status, 401);
  auto rows = audit_rows("login.failed");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ip, "127.0.0.1");
}

TEST_F(Ops, XffFromTrustedProxyNamesTheClientForAuditAndRateLimit) {
  api::ServerOptions o;
  o.trusted_proxies = {"127.0.0.0/8"};
  start(o);
  Client a(port());
  a.headers = {{"X-Forwarded-For", "203.0.113.9"}};
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(a.post("/api/auth/login", R"({"username":"limited","password":"not-the-password"})").status, 401);
  EXPECT_EQ(a.post("/api/auth/login", R"({"username":"limited","password":"correct-horse-battery"})").status, 429);
  // Another client behind the same proxy is not blocked by the first one's failures.
  Client b(port());
  b.headers = {{"X-Forwarded-For", "198.51.100.20, 127.0.0.1"}};
  EXPECT_EQ(b.post("/api/auth/login", R"({"username":"limited","password":"correct-horse-battery"})").status, 200);
  auto failed = audit_rows("login.failed");
  ASSERT_EQ(failed.size(), 5u);
  for (const auto& r : failed) EXPECT_EQ(r.ip, "203.0.113.9");
  auto ok = audit_rows("login");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].ip, "198.51.100.20");
}

TEST_F(Ops, AccessLogLineHasRouteTemplateAndNoDocNumber) {
  api::ServerOptions o;
  const auto log = dir_.path() / "access.log";
  o.access_log = log.string();
  start(o);
  auto admin = login(port(), "admin");
  ASSERT_EQ(admin.get("/api/persons?doc_number=" + world_.doc_a).status, 200);
  ASSERT_EQ(admin.get("/api/persons/" + std::to_string(world_.person_a) + "?unmask=1&reason=" + world_.doc_a).status,
            200);
  ASSERT_EQ(Client(port()).get("/api/no/such/" + world_.doc_a).status, 404);
  server_->stop();
  server_->wait();
  server_.reset();
  std::ifstream in(log);
  std::string line;
  std::vector<json> lines;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.find(world_.doc_a), std::string::npos) << line;
    EXPECT_EQ(line.find("doc_number"), std::string::npos) << line;
    EXPECT_EQ(line.find("unmask"), std::string::npos) << line;
    lines.push_back(json::parse(line));
  }
  ASSERT_EQ(lines.size(), 4u);  // login, search, detail, unknown
  EXPECT_EQ(lines[0]["route"], "/api/auth/login");
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["user_id"], world_.user_ids.at("admin"));  // the user who logged in
  EXPECT_EQ(lines[1]["route"], "/api/persons");
  EXPECT_EQ(lines[1]["status"], 200);
  EXPECT_EQ(lines[1]["user_id"], world_.user_ids.at("admin"));
  EXPECT_EQ(lines[1]["time"], "2026-11-29T15:59:00.000Z");
  EXPECT_TRUE(lines[1]["duration_ms"].is_number());
  EXPECT_EQ(lines[2]["route"], "/api/persons/{id}");
  EXPECT_EQ(lines[3]["route"], "unmatched");
  EXPECT_EQ(lines[3]["status"], 404);
  EXPECT_EQ(lines[3]["user_id"], 0);  // not authenticated
}

TEST_F(Ops, LocalDayTurnsAtLocalMidnightThroughTheApi) {
  start({});
  auto admin = login(port(), "admin");  // at 15:59 UTC = 23:59 local on the 29th
  const std::string person = "/api/persons/" + std::to_string(birthday_person_);
  auto h = Client(port()).get("/api/health").j();
  EXPECT_EQ(h["time_zone"], "Asia/Shanghai");
  EXPECT_EQ(h["utc_offset_minutes"], 480);
  EXPECT_EQ(h["today"], "2026-11-29");
  EXPECT_EQ(admin.get(person).j()["age"], 25);
  EXPECT_EQ(admin.get("/api/auth/me").j()["utc_offset_minutes"], 480);

  clock_.set(*parse_instant("2026-11-29T16:00:00Z"));  // 00:00 local on the 30th; UTC still the 29th
  EXPECT_EQ(Client(port()).get("/api/health").j()["today"], "2026-11-30");
  EXPECT_EQ(admin.get(person).j()["age"], 26);
  login(port(), "grid_a");

  // Audit filters by date are local days: the 30th holds only what happened from 16:00 UTC.
  auto auditor = login(port(), "auditor");
  const auto grid_a = std::to_string(world_.user_ids.at("grid_a"));
  const auto admin_id = std::to_string(world_.user_ids.at("admin"));
  auto on30 = auditor.get("/api/audit?action=login&from=2026-11-30&to=2026-11-30&user_id=" + grid_a).j();
  ASSERT_EQ(on30["items"].size(), 1u);
  EXPECT_EQ(on30["items"][0]["at"], "2026-11-29T16:00:00.000Z");
  auto admin30 = auditor.get("/api/audit?action=login&from=2026-11-30&to=2026-11-30&user_id=" + admin_id).j();
  EXPECT_EQ(admin30["items"].size(), 0u);
  auto admin29 = auditor.get("/api/audit?action=login&from=2026-11-29&to=2026-11-29&user_id=" + admin_id).j();
  EXPECT_EQ(admin29["items"].size(), 1u);
}

TEST_F(Ops, TimeZoneSettingIsTheOneDefinition) {
  {
    auto repo = store::open_repository("sqlite:" + (dir_.path() / "ops.db").string());
    repo->set_setting(store::kTimeZoneSetting, "Asia/Urumqi");  // UTC+6: still the 29th at 16:00 UTC
  }
  clock_.set(*parse_instant("2026-11-29T17:59:00Z"));
  start({});
  auto h = Client(port()).get("/api/health").j();
  EXPECT_EQ(h["time_zone"], "Asia/Urumqi");
  EXPECT_EQ(h["today"], "2026-11-29");
  clock_.set(*parse_instant("2026-11-29T18:00:00Z"));
  EXPECT_EQ(Client(port()).get("/api/health").j()["today"], "2026-11-30");
}

TEST_F(Ops, UnknownTimeZoneSettingStopsTheStart) {
  {
    auto repo = store::open_repository("sqlite:" + (dir_.path() / "ops.db").string());
    repo->set_setting(store::kTimeZoneSetting, "Mars/Olympus");
  }
  try {
    start({});
    FAIL() << "started with an unknown time zone";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("Mars/Olympus"), std::string::npos);
    server_.reset();
  }
}

// Argon2id runs on the hashing pool (Context::offload): each login, user creation and password
// change is one piece of work there, and the answers are the same as when it ran inline.
TEST_F(Ops, PasswordHashingRunsOnItsOwnPool) {
  start({});
  auto& hashed = metrics::histogram("bihuan_password_hash_seconds", "");
  const auto before = hashed.count();
  auto admin = login(port(), "admin");
  EXPECT_EQ(hashed.count() - before, 1u);
  Client bad(port());
  auto wrong = bad.post("/api/auth/login", R"({"username":"grid_a","password":"not-the-password"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.j()["code"], "unauthenticated");
  auto unknown = bad.post("/api/auth/login", R"({"username":"nobody","password":"not-the-password"})");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(hashed.count() - before, 3u);
  auto created = admin.post("/api/users", json{{"username", "newbie"},
                                               {"password", "a-long-enough-password"},
                                               {"role", "grid_worker"},
                                               {"scope_area", World::kGridA}}
                                              .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(hashed.count() - before, 4u);
  const auto id = created.j()["id"].get<std::int64_t>();
  auto changed = admin.put("/api/users/" + std::to_string(id), R"({"password":"another-long-password"})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(hashed.count() - before, 5u);
  EXPECT_EQ(Client(port()).post("/api/auth/login", R"({"username":"newbie","password":"a-long-enough-password"})").status,
            401);
  login(port(), "newbie", "another-long-password");
  // A duplicate username fails after the hashing, with the error mapped as usual.
  auto dup = admin.post("/api/users", json{{"username", "newbie"},
                                           {"password", "a-long-enough-password"},
                                           {"role", "grid_worker"},
                                           {"scope_area", World::kGridA}}
                                          .dump());
  EXPECT_EQ(dup.status, 409) << dup.body;
  EXPECT_EQ(audit_rows("user.create").size(), 1u);
  EXPECT_EQ(audit_rows("login.failed").size(), 3u);
}

TEST_F(Ops, AuditExportNeutralisesFormulas) {
  start({});
  auto auditor = login(port(), "auditor");
  ASSERT_EQ(auditor.get("/api/audit/export.csv?reason=%3DHYPERLINK(%22http://x%22)").status, 200);
  auto r = auditor.get("/api/audit/export.csv?reason=check&action=audit.export");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"csv(,"'=HYPERLINK(""http://x"")",)csv"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(",=HYPERLINK"), std::string::npos);
}

}  // namespace
}  // namespace bihuan::testing
