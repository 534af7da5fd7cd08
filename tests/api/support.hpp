#pragma once
// Test support for the API suite: a temporary SQLite database seeded with a small area tree,
// persons in two grids and users of several roles; the server started in-process on a free
// loopback port; and a small synchronous Beast HTTP client.
#include "api/net.hpp"  // first: <utility> before Boost.Asio

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "api/auth.hpp"
#include "api/server.hpp"
#include "core/resident_id.hpp"
#include "store/repository.hpp"

namespace bihuan::testing {

namespace fs = std::filesystem;
using nlohmann::json;
namespace net = api::net;
namespace beast = api::beast;
namespace http = api::http;
using tcp = api::tcp;

// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("bihuan-api-" + api::random_hex(6));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; repeated headers joined by "\n"
  json j() const { return json::parse(body); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

// One HTTP/1.1 request per connection (unless kept open with Connection).
class Client {
 public:
  explicit Client(unsigned short port) : port_(port) {}
  std::string cookie;  // "bihuan_session=..." sent as Cookie when set
  std::string bearer;  // sent as Authorization: Bearer when set
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers

  HttpResult request(http::verb method, const std::string& target, const std::string& body = {},
                     const std::string& content_type = "application/json") {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!cookie.empty()) req.set(http::field::cookie, cookie);
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    for (const auto& [name, value] : headers) req.insert(name, value);
    if (!body.empty() || method == http::verb::post || method == http::verb::put) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(stream, buf, parser);
    auto res = parser.release();
    HttpResult out;
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto& slot = out.headers[name];
      slot += (slot.empty() ? "" : "\n") + std::string(f.value());
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return out;
  }
  HttpResult get(const std::string& target) { return request(http::verb::get, target); }
  HttpResult post(const std::string& target, const std::string& body) { return request(http::verb::post, target, body); }
  HttpResult put(const std::string& target, const std::string& body) { return request(http::verb::put, target, body); }

 private:
  unsigned short port_;
};

// A valid 18-character resident ID for region 110105.
inline std::string make_id(const std::string& birth_yyyymmdd, int seq) {
  char s[4];
  std::snprintf(s, sizeof s, "%03d", seq);
  std::string first17 = "110105" + birth_yyyymmdd + s;
  return first17 + resident_id_check_char(first17);
}

// The seeded world: county 110105 > street 110105001 > community 110105001001 > grids A and B.
struct World {
  static constexpr const char* kCounty = "110105";
  static constexpr const char* kStreet = "110105001";
  static constexpr const char* kCommunity = "110105001001";
  static constexpr const char* kGridA = "110105001001001";
  static constexpr const char* kGridB = "110105001001002";
  static constexpr const char* kPassword = "correct-horse-battery";
  std::int64_t person_a = 0, person_a2 = 0, person_b = 0;
  std::string doc_a, doc_b;
  std::string phone_a = "13812345678";
  std::int64_t household_a = 0;
  std::int64_t org_id = 0;
  std::map<std::string, std::int64_t> user_ids;

  // A user with the password kPassword (hash: kPassword's, computed when not given).
  static std::int64_t add_user(store::Repository& repo, const std::string& name, Role role, std::string scope,
                               Instant now, std::int64_t org = 0, const std::string& hash = {}) {
    store::User u;
    u.username = name;
    u.display_name = name;
    u.password_hash = hash.empty() ? api::hash_password(kPassword) : hash;
    u.role = role;
    u.scope_area = std::move(scope);
    u.scope_org = org;
    u.created_at = now;
    return repo.create_user(u);
  }

  void seed(store::Repository& repo, Instant now) {
    std::vector<Area> areas = {
        {"11", "北京市", AreaLevel::province, ""},
        {"1101", "市辖区", AreaLevel::city, "11"},
        {kCounty, "朝阳区", AreaLevel::county, "1101"},
        {kStreet, "建外街道", AreaLevel::street, kCounty},
        {kCommunity, "光华里社区居委会", AreaLevel::community, kStreet},
        {kGridA, "第1网格", AreaLevel::grid, kCommunity},
        {kGridB, "第2网格", AreaLevel::grid, kCommunity},
    };
    repo.upsert_areas(areas);
    std::vector<Org> orgs = {{0, "91110105MA00000001", "光华科技有限公司", OrgKind::enterprise, kGridA, "光华路1号", ""}};
    repo.upsert_orgs(orgs);
    org_id = orgs.front().id;
    std::vector<Household> hs = {{0, "H-A-1", 0, kGridA, "建外街道光华里3号楼2单元501"}};
    repo.upsert_households(hs);
    household_a = hs.front().id;

    doc_a = make_id("19900101", 11);
    doc_b = make_id("19850505", 22);
    auto person = [&](const std::string& doc, const char* name, const char* grid, std::int64_t hh, std::string phone) {
      Person p;
      p.doc_number = doc;
      p.name = name;
      auto rid = parse_resident_id(doc, Date{std::chrono::year{2026}, std::chrono::month{1}, std::chrono::day{1}});
      p.birth_date = rid.birth_date;
      p.sex = rid.sex;
      p.phone = std::move(phone);
      p.household_id = hh;
      p.area_code = grid;
      p.address = "光华里";
      p.created_at = p.updated_at = now;
      return p;
    };
    std::vector<Person> ps = {person(doc_a, "张三", kGridA, household_a, phone_a),
                              person(make_id("19920202", 33), "张四", kGridA, household_a, "13900001111"),
                              person(doc_b, "李四", kGridB, 0, "13700002222")};
    ps[0].workplace_org_id = org_id;
    repo.upsert_persons(ps);
    person_a = ps[0].id;
    person_a2 = ps[1].id;
    person_b = ps[2].id;

    const std::string hash = api::hash_password(kPassword);
    auto user = [&](const std::string& name, Role role, std::string scope, std::int64_t org = 0) {
      user_ids[name] = add_user(repo, name, role, std::move(scope), now, org, hash);
    };
    user("admin", Role::admin, "");
    user("grid_a", Role::grid_worker, kGridA);
    user("grid_b", Role::grid_worker, kGridB);
    user("auditor", Role::auditor, "");
    user("investigator", Role::investigator, kCounty);
    user("limited", Role::grid_worker, kGridA);
    user("enterprise", Role::enterprise, "", org_id);
    user("venue", Role::venue, "", org_id);
  }
};

// Logs `username` in and returns a client carrying the session cookie.
inline Client login(unsigned short port, const std::string& username, const std::string& password = World::kPassword) {
  Client c(port);
  auto r = c.post("/api/auth/login", json{{"username", username}, {"password", password}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  auto set = r.header("set-cookie");
  auto semi = set.find(';');
  c.cookie = set.substr(0, semi);
  return c;
}

// The answer of a POST that started a background job (202 {"job_id"}): waits until the job has
// finished and returns GET /api/jobs/{id} (status done or failed, the report).
inline json wait_job(Client& c, const HttpResult& accepted) {
  EXPECT_EQ(accepted.status, 202) << accepted.body;
  if (accepted.status != 202) return json::object();
  const auto id = accepted.j()["job_id"].get<std::int64_t>();
  json j;
  for (int i = 0; i < 60000; ++i) {  // a bound, not a timing check: a stuck job fails the test
    j = c.get("/api/jobs/" + std::to_string(id)).j();
    if (j["status"] == "done" || j["status"] == "failed") return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "job " << id << " did not finish: " << j.dump();
  return j;
}

// The audit records of `action` in the database at `url`, newest first (at most 1,000).
inline std::vector<store::AuditRecord> audit_rows(const std::string& url, const std::string& action) {
  auto repo = store::open_repository(url);
  store::AuditQuery q;
  q.action = action;
  return repo->find_audit(q, store::Page{0, 1000}).items;
}

// A fixture: the World seeded into a fresh SQLite file and a server started over it (port 0,
// loopback). A fixture that wants other thread counts overrides options(); start() starts the
// server again after a test stopped it (server_ reset).
class SeededServer : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = "sqlite:" + (dir_.path() / "test.db").string();
    world_.seed(*store::open_repository(url_), SystemClock{}.now());
    start();
  }
  virtual void options(api::ServerOptions& o) {
    o.io_threads = 1;
    o.db_threads = 2;
  }
  void start() {
    api::ServerOptions o;
    o.db_url = url_;
    o.port = 0;
    options(o);
    server_ = std::make_unique<api::Server>(o);
    server_->start();
  }
  void TearDown() override {
    if (!server_) return;
    server_->stop();
    server_->wait();
  }
  TempDir dir_;
  World world_;
  std::string url_;
  std::unique_ptr<api::Server> server_;
};

}  // namespace bihuan::testing
