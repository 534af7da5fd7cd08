// The router as a plain function: matching, 404/405, error mapping, auth and permissions.
#include "support.hpp"

#include "api/case_routes.hpp"
#include "api/import_routes.hpp"
#include "api/job_routes.hpp"
#include "api/json_io.hpp"
#include "api/routes.hpp"
#include "core/error.hpp"

namespace bihuan::testing {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = store::open_repository("sqlite:" + (dir_.path() / "r.db").string());
    svc_.clock = &clock_;
    auto add = [&](std::string method, std::string pattern, api::AuthMode auth, std::optional<Permission> perm,
                   api::Handler h) {
      router_.add(api::Route{std::move(method), std::move(pattern), "test", {"t"}, {}, auth, perm, "", std::move(h),
                             api::Jurisdiction::open});
    };
    using api::AuthMode;
    add("GET", "/api/echo/{a}/x/{b}", AuthMode::none, std::nullopt, [](api::Request& r, api::Context&) {
      return api::Response::json({{"a", r.param("a")}, {"b", r.param("b")}, {"q", r.q("q")}});
    });
    add("GET", "/api/typed", AuthMode::none, std::nullopt, [](api::Request&, api::Context&) -> api::Response {
      fail(ErrorCode::conflict, "taken", "username");
    });
    add("POST", "/api/typed", AuthMode::none, std::nullopt, [](api::Request& r, api::Context&) -> api::Response {
      auto j = json::parse(r.body);
      return api::Response::json({{"n", j.at("n").get<int>()}});
    });
    add("GET", "/api/boom", AuthMode::none, std::nullopt,
        [](api::Request&, api::Context&) -> api::Response { throw std::logic_error("bug"); });
    add("GET", "/api/secret", AuthMode::any, Permission::audit_read,
        [](api::Request&, api::Context&) { return api::Response::json({{"ok", true}}); });
  }
  api::Response call(const std::string& method, const std::string& target, const std::string& body = {},
                     const std::string& bearer = {}) {
    api::Request req;
    req.method = method;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = api::parse_query(target.substr(q + 1));
    req.body = body;
    if (!bearer.empty()) req.authorization = "Bearer " + bearer;
    api::Context ctx{*repo_, svc_, std::nullopt, {}};
    return router_.handle(req, ctx);
  }
  static json body(const api::Response& r) { return json::parse(r.body); }

  TempDir dir_;
  std::unique_ptr<store::Repository> repo_;
  ManualClock clock_{from_unix_ms(1'800'000'000'000)};
  api::Services svc_;
  api::Router router_;
};

TEST_F(RouterTest, MatchesParamsAndDecodesQuery) {
  auto r = call("GET", "/api/echo/1/x/two?q=a%20b+c");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["a"], "1");
  EXPECT_EQ(body(r)["b"], "two");
  EXPECT_EQ(body(r)["q"], "a b c");
  EXPECT_EQ(call("GET", "/api/echo/1/y/two").status, 404);
  EXPECT_EQ(call("GET", "/api/echo/1/x").status, 404);
  EXPECT_EQ(call("GET", "/api/echo/1/x/2/3").status, 404);
  EXPECT_EQ(call("HEAD", "/api/echo/1/x/2").status, 200);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  auto r = call("DELETE", "/api/typed");
  EXPECT_EQ(r.status, 405);
  ASSERT_TRUE(r.header("Allow"));
  EXPECT_EQ(*r.header("Allow"), "GET, POST");
}

TEST_F(RouterTest, ErrorsMapToStatusAndBody) {
  auto r = call("GET", "/api/typed");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body(r), (json{{"code", "conflict"}, {"message", "taken"}, {"field", "username"}}));
  r = call("POST", "/api/typed", "{\"n\": ");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["code"], "invalid_argument");
  EXPECT_NE(body(r)["message"].get<std::string>().find("malformed JSON at byte 7"), std::string::npos);
  r = call("POST", "/api/typed", R"({"n": "x"})");
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/typed", R"({"m": 1})");
  EXPECT_EQ(r.status, 400);
  r = call("GET", "/api/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(body(r)["code"], "internal");
  EXPECT_EQ(body(r)["message"], "internal error");  // no internals leak
}

TEST_F(RouterTest, AuthAndPermission) {
  EXPECT_EQ(call("GET", "/api/secret").status, 401);
  store::User u;
  u.username = "g";
  u.password_hash = api::hash_password("irrelevant-password");
  u.role = Role::grid_worker;
  u.scope_area = "110105";
  u.id = repo_->create_user(u);
  const std::string secret = api::new_api_token();
  repo_->create_token(store::ApiToken{0, u.id, "t", api::sha256_hex(secret), clock_.now(), false});
  auto r = call("GET", "/api/secret", {}, secret);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body(r)["code"], "permission_denied");
  u.role = Role::auditor;
  repo_->update_user(u);
  svc_.auth.cache().clear();
  EXPECT_EQ(call("GET", "/api/secret", {}, secret).status, 200);
}

// The thread remembers the cache key of the last API token it saw (auth.cpp, memo_token_cache_key,
// compared in constant time eight bytes at a time): tokens of the same length, alternating on one
// thread, each get their own user, and a token one character off the remembered one is refused.
TEST_F(RouterTest, TokensOfTheSameLengthAlternatingOnOneThreadKeepTheirOwnUsers) {
  auto user_with_token = [&](const std::string& name, Role role) {
    store::User u;
    u.username = name;
    u.password_hash = api::hash_password("irrelevant-password");
    u.role = role;
    u.scope_area = "110105";
    u.id = repo_->create_user(u);
    const std::string secret = api::new_api_token();
    repo_->create_token(store::ApiToken{0, u.id, name, api::sha256_hex(secret), clock_.now(), false});
    return secret;
  };
  const std::string grid = user_with_token("grid", Role::grid_worker);
  const std::string auditor = user_with_token("auditor", Role::auditor);
  ASSERT_EQ(grid.size(), auditor.size());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call("GET", "/api/secret", {}, grid).status, 403) << i;
    EXPECT_EQ(call("GET", "/api/secret", {}, auditor).status, 200) << i;
  }
  for (std::size_t at : {std::size_t{0}, auditor.size() / 2, auditor.size() - 1}) {
    std::string off = auditor;
    off[at] = off[at] == 'A' ? 'B' : 'A';
    EXPECT_EQ(call("GET", "/api/secret", {}, auditor).status, 200) << at;  // remembered now
    EXPECT_EQ(call("GET", "/api/secret", {}, off).status, 401) << at;
  }
}

// Found by fuzz/router_fuzz: {"kept_id": 1.4e92} converted a double outside int64 to int64
// (undefined behaviour); numbers beyond int64, whole or not, are now invalid_argument.
TEST(JsonIo, IntegersOutsideInt64AreRefused) {
  auto code_of = [](const char* body) {
    try {
      (void)api::opt_int(json::parse(body), "n");
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::internal;  // no error
  };
  for (const char* bad : {R"({"n": 1.4e92})", R"({"n": -1e19})", R"({"n": 9223372036854775808.0})",
                          R"({"n": 18446744073709551615})", R"({"n": 1.5})"})
    EXPECT_EQ(code_of(bad), ErrorCode::invalid_argument) << bad;
  EXPECT_EQ(api::opt_int(json::parse(R"({"n": 9223372036854775807})"), "n"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(api::opt_int(json::parse(R"({"n": -9223372036854775808})"), "n"), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(api::opt_int(json::parse(R"({"n": 42.0})"), "n"), 42);
  EXPECT_EQ(api::opt_int(json::parse(R"({"n": -4e18})"), "n"), -4'000'000'000'000'000'000);
  EXPECT_FALSE(api::opt_int(json::parse(R"({"n": null})"), "n"));
}

TEST(Auth, PasswordHashIsArgon2idAndVerifies) {
  auto h = api::hash_password("密码-long-enough");
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(api::verify_password(h, "密码-long-enough"));
  EXPECT_FALSE(api::verify_password(h, "密码-long-enougH"));
  EXPECT_FALSE(api::verify_password("", "x"));
  EXPECT_EQ(api::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Auth, LimiterWindowSlides) {
  api::LoginLimiter lim(5, std::chrono::minutes(15));
  Instant t = from_unix_ms(1'800'000'000'000);
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(lim.blocked("u\n1.2.3.4", t));
    lim.failure("u\n1.2.3.4", t + std::chrono::minutes(i));
  }
  EXPECT_TRUE(lim.blocked("u\n1.2.3.4", t + std::chrono::minutes(5)));
  EXPECT_FALSE(lim.blocked("u\n5.6.7.8", t + std::chrono::minutes(5)));
  EXPECT_FALSE(lim.blocked("u\n1.2.3.4", t + std::chrono::minutes(15)));  // the first failure left the window
  lim.success("u\n1.2.3.4");
  EXPECT_FALSE(lim.blocked("u\n1.2.3.4", t + std::chrono::minutes(6)));
}

TEST(Auth, CookieValueAndScope) {
  EXPECT_EQ(api::cookie_value("a=1; bihuan_session=abc; c=3", "bihuan_session"), "abc");
  EXPECT_EQ(api::cookie_value("xbihuan_session=abc", "bihuan_session"), "");
  store::User u;
  u.role = Role::admin;
  EXPECT_EQ(api::scope_of(u).kind, Scope::Kind::all);
  u.role = Role::grid_worker;
  u.scope_area = "110105001001001";
  EXPECT_EQ(api::scope_of(u).area_prefix, "110105001001001");
  u.role = Role::hospital;
  u.scope_org = 7;
  EXPECT_EQ(api::scope_of(u).kind, Scope::Kind::org);
  EXPECT_EQ(api::scope_of(u).org_id, 7);
  u.role = Role::grid_worker;
  u.scope_area.clear();
  EXPECT_NE(api::scope_of(u).kind, Scope::Kind::all);  // misconfigured: sees nothing, not everything
}

TEST(Routes, EveryDocumentedEndpointIsRegistered) {
  api::Router r;
  api::add_api_routes(r);
  api::add_import_routes(r);
  api::add_job_routes(r);
  for (const char* path : {"/api/health", "/api/auth/login", "/api/auth/logout", "/api/auth/me", "/api/areas",
                           "/api/areas/{code}", "/api/persons", "/api/persons/{id}", "/api/households/{id}",
                           "/api/duplicates", "/api/merges", "/api/merges/{id}/undo", "/api/venues", "/api/orgs",
                           "/api/import/{kind}", "/api/import/runs", "/api/import/runs/{id}", "/api/import/runs/{id}/undo",
                           "/api/import/conflicts", "/api/import/conflicts/{id}/resolve", "/api/jobs", "/api/jobs/{id}",
                           "/api/users", "/api/users/{id}", "/api/users/{id}/tokens",
                           "/api/roles", "/api/audit", "/api/audit/export.csv", "/api/openapi.json"}) {
    bool found = false;
    for (const auto& route : r.routes()) found = found || route.pattern == path;
    EXPECT_TRUE(found) << path;
  }
}

}  // namespace
}  // namespace bihuan::testing

namespace bihuan::testing {
namespace {

// The direct JSON writer of the lookup's hot path writes exactly what the nlohmann value dumps.
TEST(JsonWriter, PersonAsNlohmannDumpsIt) {
  const Date today{std::chrono::year{2026} / 1 / 15};
  Person p;
  p.id = 42;
  p.doc_type = DocType::resident_id;
  p.doc_number = "11010519491231002X";
  p.nationality = "CHN";
  p.name = "王\"小\\明\t\n\x01";
  p.sex = Sex::female;
  p.birth_date = std::chrono::year{1949} / 12 / 31;
  p.phone = "13800138000";
  p.household_id = 7;
  p.area_code = "110105001001001";
  p.address = "北京市朝阳区 🏠 \x7f 1号楼\r\b\f";
  p.workplace_org_id = 0;
  p.merged_into = 3;
  for (bool unmasked : {false, true}) {
    for (bool born : {true, false}) {
      Person q = p;
      if (!born) q.birth_date = Date{};
      std::string out;
      ASSERT_TRUE(api::append_person_json(out, q, "第1网格", unmasked, today));
      EXPECT_EQ(out, api::person_json(q, "第1网格", unmasked, today).dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
  // Not valid UTF-8 (a lone continuation byte, an overlong form, a surrogate, a cut sequence):
  // refused, so that the caller falls back to the nlohmann dump.
  for (std::string bad : {"a\x80", "\xC0\xAF", "\xED\xA0\x80", "\xE5\x8C"}) {
    std::string out;
    EXPECT_FALSE(api::append_json_string(out, bad));
    Person q = p;
    q.address = bad;
    out.clear();
    EXPECT_FALSE(api::append_person_json(out, q, "", false, today));
  }
}

// The scan's answer, written directly, is what the nlohmann object dumps.
TEST(JsonWriter, ScanAnswerAsNlohmannDumpsIt) {
  cases::ScanOut o;
  o.colour = "green";
  o.masked_name = "张*";
  o.venue_code = "V-1\"\\";
  o.venue_name = "光华餐厅 \t\x01 🏠";
  o.scan_id = 9007199254740993;
  for (int k = 0; k < 8; ++k) {
    o.pass = k & 1;
    o.duplicate = k & 2;
    o.exit = k & 4;
    o.reason = o.pass ? "" : "venue_closed";
    const json j = {{"result", o.pass ? "pass" : "stop"}, {"colour", o.colour},       {"name", o.masked_name},
                    {"venue", o.venue_code},               {"venue_name", o.venue_name}, {"scan_id", o.scan_id},
                    {"duplicate", o.duplicate},            {"exit", o.exit},            {"reason", o.reason}};
    EXPECT_EQ(api::scan_answer_body(o), j.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  // Not UTF-8: the nlohmann dump, with the bytes replaced.
  o.venue_name = "a\x80";
  EXPECT_NE(api::scan_answer_body(o).find("\"venue_name\":\"a\xEF\xBF\xBD\""), std::string::npos) << api::scan_answer_body(o);
}

TEST(Routes, OnlyTheLookupByDocumentNumberIsQuick) {
  api::Request r;
  r.method = "GET";
  r.path = "/api/persons";
  r.query = {{"doc_number", "11010519491231002X"}};
  EXPECT_TRUE(api::is_quick_request(r));
  r.query["unmask"] = "1";
  r.query["reason"] = "case 12";
  EXPECT_TRUE(api::is_quick_request(r));
  r.query["name"] = "王";
  EXPECT_FALSE(api::is_quick_request(r));
  r.query = {{"address", "朝阳"}};
  EXPECT_FALSE(api::is_quick_request(r));
  r.query = {{"doc_number", "11010519491231002X"}};
  r.method = "POST";
  EXPECT_FALSE(api::is_quick_request(r));
  r.method = "GET";
  r.path = "/api/persons/1";
  EXPECT_FALSE(api::is_quick_request(r));
  EXPECT_FALSE(api::is_scan_request(r));
  // A scan is not a quick read; the server runs it on the I/O thread of a SQLite deployment.
  r.method = "POST";
  r.path = "/api/scan";
  r.query.clear();
  EXPECT_TRUE(api::is_scan_request(r));
  EXPECT_FALSE(api::is_quick_request(r));
  r.method = "GET";
  EXPECT_FALSE(api::is_scan_request(r));
}

}  // namespace
}  // namespace bihuan::testing
