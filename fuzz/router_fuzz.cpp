// Fuzzes every route of the API through the in-process router (src/api/router): the route
// table is built once, as the server builds it, over a throwaway SQLite database of a small
// seeded world. Input layout:
//   byte 0      the route (index into the route table, whatever its size)
//   byte 1      the caller: an administrator most of the time, else a grid worker, an
//               investigator, the port or the quarantine site (all by API token); its low
//               bits also thin out the password-hashing routes (see below)
//   then        one segment per {parameter} of the route, each ended by '/'
//   then        the query string, ended by '\n'
//   the rest    the body (JSON, or CSV for the imports)
// Router::handle must never throw and must answer a status the API documents; 500 (an
// unexpected exception or an internal error) counts as a failure, and so does an error body that
// is not the {"code","message","field"} JSON object.
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "api/auth.hpp"
#include "api/import_routes.hpp"
#include "api/job_routes.hpp"
#include "api/loop_routes.hpp"
#include "api/retention_routes.hpp"
#include "api/router.hpp"
#include "api/routes.hpp"
#include "fuzz_common.hpp"
#include "fuzz_world.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"

using namespace bihuan;

namespace {

void write_seeds(const api::Router& router, const std::string& dir);

struct State {
  fuzz::World world{"router"};
  ManualClock clock{*parse_instant("2026-11-29T04:00:00Z")};
  loop::Profiles profiles{fuzz::source_path("policies")};
  loop::CodeSigner signer{(fuzz::scratch_dir() / "code-signing").string()};
  std::unique_ptr<loop::Watcher> watcher;
  api::Services services;
  api::Router router;
  std::vector<std::string> tokens;  // bearer secrets, [0] = the administrator
  std::set<std::size_t> hashing_routes;  // indexes of the routes that hash or verify a password

  State() {
    services.clock = &clock;
    services.loop_profiles = &profiles;
    services.code_signer = &signer;
    watcher = std::make_unique<loop::Watcher>(store::open_repository(world.url), profiles, clock);
    watcher->load();
    services.loop_watcher = watcher.get();
    api::add_api_routes(router);
    api::add_loop_routes(router);
    api::add_retention_routes(router);  // no job runner here: the purge answers 503 after its checks
    // Imports and jobs (no job runner here: an import itself answers 503 after its checks).
    api::add_import_routes(router);
    api::add_job_routes(router);
    for (std::size_t i = 0; i < router.routes().size(); ++i) {
      const auto& r = router.routes()[i];
      if ((r.method == "POST" && (r.pattern == "/api/auth/login" || r.pattern == "/api/users")) ||
          (r.method == "PUT" && r.pattern == "/api/users/{id}"))
        hashing_routes.insert(i);
    }
    auto& repo = *world.repo;
    const std::string hash = api::hash_password("fuzz-password-long-enough");
    auto user = [&](const std::string& name, Role role, std::string area, std::int64_t org) {
      store::User u;
      u.username = name;
      u.display_name = name;
      u.password_hash = hash;
      u.role = role;
      u.scope_area = std::move(area);
      u.scope_org = org;
      u.created_at = clock.now();
      u.id = repo.create_user(u);
      const std::string secret = api::new_api_token();
      repo.create_token(store::ApiToken{0, u.id, "fuzz", api::sha256_hex(secret), clock.now(), false});
      tokens.push_back(secret);
    };
    user("admin", Role::admin, "", 0);
    user("grid", Role::grid_worker, "110105001001001", 0);
    user("investigator", Role::investigator, "110105", 0);
    user("port", Role::port_health, "", world.port_org);
    user("site", Role::quarantine_site, "", world.site_org);
    if (const char* dir = std::getenv("BIHUAN_FUZZ_WRITE_SEEDS")) write_seeds(router, dir);
  }
};
State& state() {
  static State s;
  return s;
}

// Example requests for the seed corpus, by "METHOD pattern": {path parameters, query, body}.
// Written as inputs of the current route table by BIHUAN_FUZZ_WRITE_SEEDS=DIR (fuzz/README.md).
struct Example {
  std::vector<std::string> params;
  std::string query, body;
};
const std::multimap<std::string, Example>& examples() {
  static const std::multimap<std::string, Example> ex = {
      {"GET /api/health", {}},
      {"GET /api/persons", {{}, "doc_number=110105199001010011&limit=5", ""}},
      {"GET /api/persons", {{}, "q=%E5%BC%A0&area=110105&after=0&limit=20", ""}},
      {"GET /api/persons/{id}", {{"1"}, "", ""}},
      {"POST /api/persons",
       {{}, "", R"({"doc_type":"resident_id","doc_number":"11010519900101001X","name":"张三","sex":"male",)"
                R"("birth_date":"1990-01-01","phone":"13812345678","area_code":"110105001001001","address":"光华里"})"}},
      {"PUT /api/persons/{id}", {{"1"}, "", R"({"phone":"13600001234","address":"光华里5号楼","revision":1})"}},
      {"GET /api/households/{id}", {{"1"}, "", ""}},
      {"GET /api/areas", {{}, "parent=110105", ""}},
      {"GET /api/areas/{code}", {{"110105001"}, "", ""}},
      {"GET /api/duplicates", {{}, "limit=10", ""}},
      {"POST /api/merges", {{}, "", R"({"kept_id":1,"merged_id":2,"reason":"same person"})"}},
      {"POST /api/merges/{id}/undo", {{"1"}, "", R"({"reason":"not the same person"})"}},
      {"GET /api/venues", {{}, "q=%E8%B6%85%E5%B8%82&limit=3", ""}},
      {"GET /api/orgs", {{}, "kind=port", ""}},
      {"POST /api/import/{kind}",
       {{"persons"}, "mode=valid-rows&encoding=utf-8",
        "证件号码,姓名,性别,出生日期,手机号,网格编码\n110105199001010011,李四,男,1990-01-01,13800000001,110105001001001\n"}},
      {"POST /api/import/{kind}",
       {{"households"}, "mode=all-or-nothing", "household_no,area_code,address\nH-1,110105001001001,光华里1号\n"}},
      {"POST /api/users",
       {{}, "", R"({"username":"worker","display_name":"网格员","password":"long-enough-password","role":"grid_worker","scope_area":"110105001001001"})"}},
      {"PUT /api/users/{id}", {{"2"}, "", R"({"display_name":"网格员乙","active":false})"}},
      {"POST /api/users/{id}/tokens", {{"1"}, "", R"({"name":"bench"})"}},
      {"GET /api/audit", {{}, "action=person.read&from=2026-11-01&to=2026-11-30&limit=5", ""}},
      {"GET /api/audit/export.csv", {{}, "reason=review&entity=person", ""}},
      {"POST /api/auth/login", {{}, "", R"({"username":"admin","password":"wrong-password-123"})"}},
      {"PUT /api/policy/active", {{}, "", R"({"name":"twenty-measures","reason":"new rules"})"}},
      {"POST /api/policy/replan", {{}, "", R"({"profile":"class-b","reason":"x","apply":false})"}},
      {"GET /api/policy/profiles/{name}", {{"ninth-edition"}, "", ""}},
      {"POST /api/loop/manifests",
       {{}, "kind=flight&ref=CA981&arrived_at=2026-11-29T02:00:00Z&port_org=1",
        "证件类型,证件号码,国籍,姓名,性别,出生日期,手机号,座位号,目的地网格\n"
        "resident_id,310115198805120034,CHN,陈思远,男,1988-05-12,13901234561,12A,110101001001001\n"}},
      {"POST /api/loop/orders",
       {{}, "", R"({"person_id":1,"group":"close_contact","source":"close_contact","start_date":"2026-11-28",)"
                R"("stage":"quarantine_site","owner":{"kind":"org","org_id":2}})"}},
      {"POST /api/loop/orders",
       {{}, "", R"({"person_id":1,"group":"inbound","source":"self_declaration","start_date":"2026-11-29",)"
                R"("stage":"destination_community","owner":{"kind":"area","area":"110105001001001"},"destination_area":"110105001001001"})"}},
      {"GET /api/loop/orders", {{}, "status=active&limit=10", ""}},
      {"GET /api/loop/orders/{id}", {{"1"}, "", ""}},
      {"GET /api/loop/board", {{}, "", ""}},
      {"POST /api/loop/orders/{id}/handover",
       {{"1"}, "", R"({"to_stage":"hospital","receiver":{"kind":"org","org_id":2},"vehicle":"京A12345"})"}},
      {"POST /api/loop/orders/{id}/move", {{"1"}, "", R"({"to_stage":"home_isolation","note":"x"})"}},
      {"POST /api/loop/handovers/{id}/ack", {{"1"}, "", R"({"note":"arrived"})"}},
      {"POST /api/loop/orders/{id}/transfer-out", {{"1"}, "", R"({"to_region":"4403","note":"home"})"}},
      {"POST /api/loop/orders/{id}/checks", {{"1"}, "", R"({"temperature_c":38.2,"symptoms":["cough"]})"}},
      {"POST /api/loop/orders/{id}/tests", {{"1"}, "", R"({"day":"2026-11-29","result":"negative","ct":35.5})"}},
      {"POST /api/loop/orders/{id}/release", {{"1"}, "", R"({"note":"done"})"}},
      {"POST /api/loop/alerts/{id}/ack", {{"1"}, "", R"({"note":"seen"})"}},
      {"POST /api/loop/alerts/{id}/close", {{"1"}, "", R"({"note":"assessed: flu"})"}},
      {"GET /api/loop/sites/{org_id}", {{"2"}, "", ""}},
      {"POST /api/loop/sites/{org_id}/rooms",
       {{"2"}, "", R"({"rooms":[{"number":"101","type":"single","capacity":1},{"number":"102","type":"family","capacity":3}]})"}},
      {"POST /api/loop/sites/{org_id}/assign", {{"2"}, "", R"({"order_ids":[1,2]})"}},
      {"GET /api/persons/{id}/code", {{"1"}, "", ""}},
      {"POST /api/codes/verify", {{}, "", R"({"token":"BH1.MXwyfDN8NA.c2ln"})"}},
  };
  return ex;
}

void write_seeds(const api::Router& router, const std::string& dir) {
  const auto& routes = router.routes();
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const std::string key = routes[i].method + " " + routes[i].pattern;
    auto [lo, hi] = examples().equal_range(key);
    std::vector<Example> list;
    for (auto it = lo; it != hi; ++it) list.push_back(it->second);
    if (list.empty()) list.push_back({});  // every route gets at least a bare request
    int n = 0;
    for (const auto& e : list) {
      std::string input{static_cast<char>(i), '\0'};
      for (const auto& p : e.params) input += p + "/";
      input += e.query + "\n" + e.body;
      std::string name = key;
      for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      std::ofstream(dir + "/" + name + "-" + std::to_string(n++), std::ios::binary) << input;
    }
  }
}

bool documented_status(int s) {
  static const std::set<int> ok = {200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 429, 503};
  return ok.count(s) > 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)state();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& st = state();
  fuzz::Input in(data, size);
  const auto& routes = st.router.routes();
  const std::size_t pick = in.byte() % routes.size();
  const std::uint8_t who = in.byte();
  // The routes that run Argon2id (about 0.1 s a call) get a sixteenth of their share, so that a
  // million inputs fit in an afternoon; the rest of their share goes to the next route.
  const bool hashes = st.hashing_routes.count(pick) > 0;
  const api::Route& route = routes[hashes && (who & 0x0F) != 0 ? (pick + 1) % routes.size() : pick];
  const std::string& token = who < 160 ? st.tokens[0] : st.tokens[1 + who % (st.tokens.size() - 1)];

  api::Request req;
  req.method = route.method;
  std::string_view pattern = route.pattern;
  while (!pattern.empty()) {
    const auto open = pattern.find('{');
    if (open == std::string_view::npos) {
      req.path += pattern;
      break;
    }
    req.path += pattern.substr(0, open);
    const auto close = pattern.find('}', open);
    req.path += in.until('/', 64);
    pattern = pattern.substr(close + 1);
  }
  req.query = api::parse_query(in.until('\n', 512));
  req.body = std::string(in.rest());
  req.content_type = route.request_body;
  req.authorization = "Bearer " + token;
  req.client_ip = "127.0.0.1";

  api::Context ctx{*st.world.repo, st.services, std::nullopt, {}};
  api::Response res = st.router.handle(req, ctx);
  if (!documented_status(res.status)) {
    std::fprintf(stderr, "%s %s -> %d %s\n", req.method.c_str(), req.path.c_str(), res.status, res.body.c_str());
    BIHUAN_FUZZ_CHECK(false, "the router answers a documented status");
  }
  if (res.status >= 400) {
    const auto j = nlohmann::json::parse(res.body, nullptr, false);
    BIHUAN_FUZZ_CHECK(j.is_object() && j.contains("code") && j.contains("message") && j.contains("field"),
                      "an error answer is the {code, message, field} object");
  }
  return 0;
}
