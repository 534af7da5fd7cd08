// Handovers between deployments (跨地区交接): two databases, each a deployment with its own
// Ed25519 key, exchange a signed handover document and a signed receipt. SQLite always,
// PostgreSQL when BIHUAN_TEST_PG is set (two schemas).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/area.hpp"
#include "core/error.hpp"
#include "core/resident_id.hpp"
#include "loop/service.hpp"
#include "loop/signed_document.hpp"
#include "loop/watcher.hpp"
#include "store/db.hpp"
#include "store/repository.hpp"
#include "loop/backend.hpp"

namespace bihuan::transfertest {

namespace fs = std::filesystem;
using loop::Owner;
using nlohmann::json;

using Db = looptest::TestBackend;
using looptest::area;

Date date(const std::string& s) { return *parse_date(s); }
Instant at(const std::string& s) { return *parse_instant(s); }

// The signed bytes of an envelope, as text.
std::string payload_text(const std::string& envelope) {
  auto bytes = code::from_base64url(json::parse(envelope)["payload"].get<std::string>());
  return std::string(bytes.begin(), bytes.end());
}
json payload_of(const std::string& envelope) { return json::parse(payload_text(envelope)); }
// The envelope with its payload replaced by `payload` and the signature left as it was.
std::string with_payload(const std::string& envelope, const std::string& payload) {
  auto e = json::parse(envelope);
  e["payload"] = code::to_base64url(reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  return e.dump();
}

// One deployment: its database, key and service.
struct Deployment {
  Db db;
  std::unique_ptr<store::Repository> repo;
  std::unique_ptr<loop::Service> svc;
  std::unique_ptr<loop::CodeSigner> signer;
  std::string public_key;
  Deployment(const std::string& kind, const std::string& id, const std::string& region, std::vector<Area> areas,
             const loop::Profiles& profiles, const Clock& clock)
      : db(kind) {
    if (!db.skip.empty()) return;
    repo = store::open_repository(db.url);
    repo->upsert_areas(areas);
    repo->set_setting("deployment.id", id);
    repo->set_setting("deployment.name", id + " command centre");
    repo->set_setting("deployment.region", region);
    svc = std::make_unique<loop::Service>(*repo, profiles, clock);
    signer = std::make_unique<loop::CodeSigner>(db.dir + "/code-signing");
    const auto& k = signer->keys();
    public_key = code::to_base64url(k.public_key.data(), k.public_key.size());
  }
};

class Transfer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    bj_ = std::make_unique<Deployment>(
        GetParam(), "beijing", "11",
        std::vector<Area>{area("11", "北京市"), area("1101", "市辖区"), area("110105", "朝阳区")}, profiles_, clock_);
    if (!bj_->db.skip.empty()) GTEST_SKIP() << bj_->db.skip;
    sz_ = std::make_unique<Deployment>(
        GetParam(), "shenzhen", "4403",
        std::vector<Area>{area("44", "广东省"), area("4403", "深圳市"), area("440305", "南山区"),
                          area("440305001", "南头街道"), area("440305001001", "南头社区"),
                          area("440305001001001", "第1网格")},
        profiles_, clock_);
    std::vector<Org> orgs(1);
    orgs[0].code = "site";
    orgs[0].name = "隔离点";
    orgs[0].kind = OrgKind::quarantine_site;
    orgs[0].area_code = "110105";
    bj_->repo->upsert_orgs(orgs);
    site_ = orgs[0].id;
    std::vector<Person> ps(1);
    std::string first17 = "11010519850307123";
    ps[0].doc_number = first17 + resident_id_check_char(first17);
    ps[0].name = "旅客甲";
    ps[0].birth_date = date("1985-03-07");
    ps[0].phone = "13800138000";
    ps[0].area_code = "110105";
    bj_->repo->upsert_persons(ps);
    person_ = ps[0];
    loop::NewOrder n;
    n.person_id = person_.id;
    n.group = "inbound";
    n.start = date("2022-07-01");
    n.stage = loop::Stage::quarantine_site;
    n.owner = Owner::org(site_);
    n.destination_area = "440305001001001";
    auto row = bj_->svc->create_order(n, actor_);
    order_ = row.order.id;
    first_test_ = bj_->svc->plan_of(row).phases.at(0).test_dates.at(0);
    bj_->svc->record_test(order_, first_test_, "negative", std::nullopt, actor_);
    bj_->svc->trust_sender("shenzhen", sz_->public_key, actor_);
    sz_->svc->trust_sender("beijing", bj_->public_key, actor_);
  }

  std::string send() {
    clock_.set(at("2022-07-08T02:00:00Z"));
    return bj_->svc->transfer_out(order_, "4403", "", *bj_->signer, actor_);
  }

  static ErrorCode code_of(const std::function<void()>& fn, std::string* field = nullptr) {
    try {
      fn();
    } catch (const Error& e) {
      if (field) *field = e.field();
      return e.code();
    }
    ADD_FAILURE() << "no error";
    return ErrorCode::internal;
  }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{at("2022-07-01T02:00:00Z")};
  Caller actor_ = Caller::local("tester", 1);
  std::unique_ptr<Deployment> bj_, sz_;
  std::int64_t site_ = 0, order_ = 0;
  Person person_;
  Date first_test_{};
};

TEST_P(Transfer, ExportImportReceiptClosesTheLoopOnBothSides) {
  const std::string doc = send();
  EXPECT_EQ(json::parse(doc)["format"], "bihuan-signed/1");
  EXPECT_EQ(json::parse(doc)["key"], bj_->public_key);
  auto j = payload_of(doc);
  EXPECT_EQ(j["format"], "bihuan-handover/2");
  EXPECT_EQ(j["sender"]["public_key"], bj_->public_key);
  EXPECT_EQ(j["person"]["doc_number"], person_.doc_number);
  EXPECT_EQ(j["person"]["destination_area"], "440305001001001");
  EXPECT_EQ(j["order"]["group"], "inbound");
  ASSERT_EQ(j["tests"].size(), 1u);

  // Sender side: still at the site, owned by it, with a pending handover to the region.
  auto o = bj_->svc->loop().order(order_, Scope::everything());
  ASSERT_TRUE(o && o->order.pending);
  EXPECT_EQ(o->order.current.stage, loop::Stage::quarantine_site);
  EXPECT_EQ(o->order.current.owner, Owner::org(site_));
  EXPECT_EQ(o->order.pending->receiver, Owner::area("4403"));
  // Nobody here acknowledges it, and no second handover goes out meanwhile.
  EXPECT_EQ(code_of([&] { bj_->svc->acknowledge(o->order.pending->id, "", actor_); }),
            ErrorCode::conflict);
  EXPECT_EQ(code_of([&] { bj_->svc->transfer_out(order_, "4403", "", *bj_->signer, actor_); }), ErrorCode::conflict);

  // Destination: a new order at the destination community with the sender's plan and tests.
  auto in = sz_->svc->transfer_in(doc, *sz_->signer, actor_);
  auto mine = sz_->svc->loop().order(in.order_id, Scope::everything());
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->order.current.stage, loop::Stage::destination_community);
  EXPECT_EQ(mine->order.current.owner, Owner::area("440305001001001"));
  EXPECT_EQ(mine->order.group, "inbound");
  EXPECT_EQ(mine->release_date, o->release_date);
  auto tests = sz_->svc->loop().tests_of(in.order_id);
  ASSERT_EQ(tests.size(), 1u);
  EXPECT_EQ(tests[0].day, first_test_);
  auto p = sz_->repo->person(in.person_id, Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->doc_number, person_.doc_number);
  EXPECT_EQ(p->name, "旅客甲");

  // Replay: the same document again is a conflict.
  std::string field;
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(doc, *sz_->signer, actor_); }, &field), ErrorCode::conflict);
  EXPECT_EQ(field, "document_id");

  // Receipt back at the sender: the order leaves this deployment's custody.
  auto done = bj_->svc->accept_receipt(in.receipt, actor_);
  EXPECT_EQ(done.order_id, order_);
  EXPECT_EQ(done.region, "4403");
  auto after = bj_->svc->loop().order(order_, Scope::everything(), true);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->order.status, loop::OrderStatus::released);
  EXPECT_EQ(after->order.current.stage, loop::Stage::released);
  EXPECT_FALSE(after->order.pending);
  EXPECT_TRUE(bj_->svc->loop().deadlines_of(order_).empty());
  auto hs = bj_->svc->loop().handovers_of(order_);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_TRUE(hs[0].acknowledged_at.has_value());
  // The same receipt twice is a conflict.
  EXPECT_EQ(code_of([&] { bj_->svc->accept_receipt(in.receipt, actor_); }), ErrorCode::conflict);
}

TEST_P(Transfer, WatcherAlertsWhenNoReceiptArrives) {
  send();
  loop::Watcher w(store::open_repository(bj_->db.url), profiles_, clock_);
  w.load();
  auto r = w.tick(at("2022-07-08T14:00:00Z"));  // 12 h later: the destination deadline
  bool overdue = false;
  for (const auto& a : r.raised) overdue = overdue || (a.kind == "handover_overdue" && a.order_id == order_);
  EXPECT_TRUE(overdue);
}

TEST_P(Transfer, ForgedUnknownExpiredAndMalformedDocumentsAreRefused) {
  const std::string doc = send();
  std::string field;
  // Forged: a field changed after signing.
  auto forged = payload_of(doc);
  forged["person"]["name"] = "别人";
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(with_payload(doc, forged.dump()), *sz_->signer, actor_); }, &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "signature");
  // Unknown sender: a third deployment's key that nobody trusts, signing a document naming it.
  Deployment gz(GetParam(), "guangzhou", "4401", {area("44", "广东省"), area("4401", "广州市")}, profiles_, clock_);
  auto foreign = payload_of(doc);
  foreign["sender"]["public_key"] = gz.public_key;
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(loop::seal(foreign.dump(), gz.signer->keys()), *sz_->signer, actor_); },
                    &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "sender.public_key");
  // Signed by an untrusted key while naming the trusted sender: refused too.
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(loop::seal(payload_text(doc), gz.signer->keys()), *sz_->signer, actor_); },
                    &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "sender.public_key");
  // The envelope claiming another key than the one that signed.
  auto claimed = json::parse(doc);
  claimed["key"] = gz.public_key;
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(claimed.dump(), *sz_->signer, actor_); }, &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "signature");
  // Nothing of the refused documents was kept: the genuine one still imports.
  auto in = sz_->svc->transfer_in(doc, *sz_->signer, actor_);
  // Receipts: altered, from an untrusted key, or carrying another document's signature.
  auto altered = payload_of(in.receipt);
  altered["document_id"] = "beijing:1:999";
  EXPECT_EQ(code_of([&] { bj_->svc->accept_receipt(with_payload(in.receipt, altered.dump()), actor_); }, &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "signature");
  auto untrusted = payload_of(in.receipt);
  untrusted["receiver"]["public_key"] = gz.public_key;
  EXPECT_EQ(code_of([&] { bj_->svc->accept_receipt(loop::seal(untrusted.dump(), gz.signer->keys()), actor_); }, &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "receiver.public_key");
  auto swapped = json::parse(in.receipt);
  swapped["signature"] = json::parse(doc)["signature"];
  EXPECT_EQ(code_of([&] { bj_->svc->accept_receipt(swapped.dump(), actor_); }, &field), ErrorCode::unauthenticated);
  EXPECT_EQ(field, "signature");
  EXPECT_EQ(code_of([&] { bj_->svc->accept_receipt(doc, actor_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "format");
  // A format that is not text is the same error, not nlohmann's type_error (found by
  // fuzz/transfer_fuzz: {"format":"bihua","format":18446744073709551615}).
  for (const char* bad : {R"({"format":18446744073709551615})", R"({"format":1.5,"key":"","payload":""})",
                          R"({"format":null})", R"({"format":["bihuan-signed/1"]})"}) {
    EXPECT_EQ(code_of([&] { bj_->svc->accept_receipt(bad, actor_); }, &field), ErrorCode::invalid_argument) << bad;
    EXPECT_EQ(field, "format") << bad;
    EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(bad, *sz_->signer, actor_); }, &field), ErrorCode::invalid_argument)
        << bad;
  }
  // The same inside a correctly signed payload.
  EXPECT_EQ(code_of([&] { bj_->svc->accept_receipt(loop::seal(R"({"format":{"a":1}})", gz.signer->keys()), actor_); },
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "format");
  // The order is still pending here: only the genuine receipt closes it.
  auto o = bj_->svc->loop().order(order_, Scope::everything());
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->order.pending.has_value());
  EXPECT_EQ(bj_->svc->accept_receipt(in.receipt, actor_).order_id, order_);
  // Malformed JSON.
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in("{not json", *sz_->signer, actor_); }, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "document");
}

// The signature covers the exact bytes sent: the envelope may be re-serialised by any JSON tool
// (other key order, spacing, escapes) and still verifies; one changed payload byte does not.
TEST_P(Transfer, SignatureIsOverTheExactBytesNotReserialisedJson) {
  const std::string doc = send();
  const auto env = json::parse(doc);
  // Re-serialised: keys in reverse order, indented, non-ASCII escaped.
  std::string reordered = "{\n";
  std::vector<std::string> keys;
  for (auto it = env.begin(); it != env.end(); ++it) keys.push_back(it.key());
  for (auto k = keys.rbegin(); k != keys.rend(); ++k)
    reordered += "    " + json(*k).dump() + " :  " + env[*k].dump(-1, ' ', true) + (k + 1 == keys.rend() ? "\n" : ",\n");
  reordered += "}\n";
  ASSERT_NE(reordered, doc);
  ASSERT_EQ(json::parse(reordered), env);

  // The payload itself re-serialised (same JSON value, other bytes) is not what was signed.
  const std::string text = payload_text(doc);
  const std::string pretty = payload_of(doc).dump(2);
  ASSERT_NE(pretty, text);
  std::string field;
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(with_payload(doc, pretty), *sz_->signer, actor_); }, &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "signature");
  // One byte changed (a digit of the phone number): refused.
  std::string tampered = text;
  const auto pos = tampered.find("13800138000");
  ASSERT_NE(pos, std::string::npos);
  tampered[pos + 10] = '1';
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(with_payload(doc, tampered), *sz_->signer, actor_); }, &field),
            ErrorCode::unauthenticated);
  EXPECT_EQ(field, "signature");
  // A document of the old format (signed over re-serialised JSON) is refused with its reason.
  auto old = payload_of(doc);
  old["format"] = "bihuan-handover/1";
  old["signature"] = env["signature"];
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(old.dump(), *sz_->signer, actor_); }, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "format");

  // The re-serialised envelope imports, and its receipt re-serialised is accepted too.
  auto in = sz_->svc->transfer_in(reordered, *sz_->signer, actor_);
  EXPECT_EQ(payload_of(in.receipt)["format"], "bihuan-receipt/2");
  EXPECT_EQ(bj_->svc->accept_receipt(json::parse(in.receipt).dump(4), actor_).order_id, order_);
}

TEST_P(Transfer, ExpiredDocumentAndUnknownDestinationAreRefused) {
  const std::string doc = send();
  std::string field;
  clock_.set(at("2022-07-20T02:00:00Z"));
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(doc, *sz_->signer, actor_); }, &field), ErrorCode::unauthenticated);
  EXPECT_EQ(field, "expires_at");
  // The destination deployment does not know the area the person goes to: nothing is written.
  sz_->repo->set_setting("deployment.region", "4403");
  Deployment other(GetParam(), "shanghai", "31", {area("31", "上海市")}, profiles_, clock_);
  other.svc->trust_sender("beijing", bj_->public_key, actor_);
  clock_.set(at("2022-07-08T03:00:00Z"));
  EXPECT_EQ(code_of([&] { other.svc->transfer_in(doc, *other.signer, actor_); }, &field), ErrorCode::invalid_argument);
  EXPECT_EQ(field, "person.destination_area");
  EXPECT_TRUE(other.svc->loop().find_orders({}, Scope::everything(), {0, 10}).items.empty());
  // ... and the document can still be imported where it belongs (no replay record was left).
  EXPECT_NO_THROW(sz_->svc->transfer_in(doc, *sz_->signer, actor_));
}

// Every path of a JSON value (objects' members and arrays' elements), with the value there:
// "person.birth_date", "order.plan.phases[0].test_dates[1]".
void paths_of(const json& j, const std::string& path, std::vector<std::pair<std::string, json>>& out) {
  if (!path.empty()) out.emplace_back(path, j);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) paths_of(*it, path.empty() ? it.key() : path + "." + it.key(), out);
  else if (j.is_array())
    for (std::size_t i = 0; i < j.size(); ++i) paths_of(j[i], path + "[" + std::to_string(i) + "]", out);
}
// Values of other JSON types than `v`'s (null stands for "absent" and is not among them).
std::vector<json> other_types(const json& v) {
  std::vector<json> all{json(7), json(-1.5), json("7"), json(true), json::array({"x"}), json::object({{"x", 1}})};
  std::vector<json> out;
  for (auto& w : all)
    if (w.type() != v.type() && !(w.is_number() && v.is_number())) out.push_back(w);
  return out;
}
// `doc` with the value at `path` (as paths_of names it) replaced by `value`.
json replaced(json doc, const std::string& path, const json& value) {
  json* at = &doc;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      const auto close = path.find(']', i);
      at = &(*at)[std::stoul(path.substr(i + 1, close - i - 1))];
      i = close + 1;
    } else {
      if (path[i] == '.') ++i;
      const auto end = path.find_first_of(".[", i);
      at = &(*at)[path.substr(i, end == std::string::npos ? std::string::npos : end - i)];
      i = end == std::string::npos ? path.size() : end;
    }
  }
  *at = value;
  return doc;
}

// A correctly signed document whose fields have unexpected JSON types (found by
// fuzz/transfer_fuzz: "pre_departure_test_hours":"2026-12-05" threw nlohmann's type_error from
// inside transfer_in's write transaction): every field of every received document is read with
// its type, and each wrong one is invalid_argument naming the field; nothing is written.
TEST_P(Transfer, EveryFieldOfAReceivedDocumentIsTyped) {
  const std::string doc = send();
  const json handover = payload_of(doc);
  std::vector<std::pair<std::string, json>> paths;
  paths_of(handover, "", paths);
  ASSERT_GT(paths.size(), 30u);
  int tried = 0;
  for (const auto& [path, value] : paths) {
    for (const auto& wrong : other_types(value)) {
      const std::string text = replaced(handover, path, wrong).dump();
      std::string field;
      try {
        sz_->svc->transfer_in(loop::seal(text, bj_->signer->keys()), *sz_->signer, actor_);
        ADD_FAILURE() << path << " = " << wrong.dump() << " was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << path << " = " << wrong.dump() << ": " << e.what();
        EXPECT_EQ(e.field(), path) << path << " = " << wrong.dump() << ": " << e.what();
        if (path != "format") {
          EXPECT_NE(std::string(e.what()).find("field " + path + ": "), std::string::npos) << e.what();
        }
      }
      ++tried;
    }
  }
  EXPECT_GT(tried, 150);
  // The fuzzer's input, exactly: an hour count that is text.
  std::string field;
  EXPECT_EQ(code_of([&] {
              sz_->svc->transfer_in(
                  loop::seal(replaced(handover, "order.plan.pre_departure_test_hours", "2026-12-05").dump(),
                             bj_->signer->keys()),
                  *sz_->signer, actor_);
            }, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "order.plan.pre_departure_test_hours");
  try {
    sz_->svc->transfer_in(loop::seal(replaced(handover, "person.birth_date", 19850307).dump(), bj_->signer->keys()),
                          *sz_->signer, actor_);
    ADD_FAILURE() << "a birth date that is a number was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "field person.birth_date: expected a string");
  }
  // Values of the right type that do not parse, and required fields that are missing.
  for (const auto& [path, value] : std::vector<std::pair<std::string, json>>{
           {"person.birth_date", "1985-02-30"},
           {"order.start_date", "yesterday"},
           {"expires_at", "soon"},
           {"person.sex", "x"},
           {"person.doc_type", "passportish"},
           {"order.plan.phases[0].measure", "curfew"},
           {"order.plan.phases[0].colour", "purple"},
           {"order.plan.phases[0].test_dates[0]", "2022-13-01"},
           {"order.plan.phases", json::array()},
           {"order.plan.pre_departure_test_hours", -3},
           {"order.id", 18446744073709551615ull},
           {"person.name", ""},
           {"person.doc_number", nullptr},
           {"order.plan", nullptr}}) {
    EXPECT_EQ(code_of([&] {
                sz_->svc->transfer_in(loop::seal(replaced(handover, path, value).dump(), bj_->signer->keys()),
                                      *sz_->signer, actor_);
              }, &field),
              ErrorCode::invalid_argument)
        << path;
    EXPECT_EQ(field, path);
  }
  auto tests = handover;
  tests["tests"] = json::array({json{{"day", "2022-07-02"}, {"result", 1}}});
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(loop::seal(tests.dump(), bj_->signer->keys()), *sz_->signer, actor_); },
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "tests[0].result");
  tests["tests"] = json::array({"2022-07-02"});
  EXPECT_EQ(code_of([&] { sz_->svc->transfer_in(loop::seal(tests.dump(), bj_->signer->keys()), *sz_->signer, actor_); },
                    &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "tests[0]");
  // Nothing was written by any of them: no order, no person, no replay record.
  EXPECT_TRUE(sz_->svc->loop().find_orders({}, Scope::everything(), {0, 10}).items.empty());
  EXPECT_FALSE(sz_->repo->person_by_doc(person_.doc_number, Scope::everything()));
  auto in = sz_->svc->transfer_in(doc, *sz_->signer, actor_);

  // The receipt the same way, on the sender's side.
  const json receipt = payload_of(in.receipt);
  paths.clear();
  paths_of(receipt, "", paths);
  ASSERT_GE(paths.size(), 9u);
  for (const auto& [path, value] : paths) {
    for (const auto& wrong : other_types(value)) {
      try {
        bj_->svc->accept_receipt(loop::seal(replaced(receipt, path, wrong).dump(), sz_->signer->keys()), actor_);
        ADD_FAILURE() << path << " = " << wrong.dump() << " was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << path << " = " << wrong.dump() << ": " << e.what();
        EXPECT_EQ(e.field(), path) << path << " = " << wrong.dump() << ": " << e.what();
      }
    }
  }
  auto o = bj_->svc->loop().order(order_, Scope::everything());
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->order.pending.has_value());
  EXPECT_EQ(bj_->svc->accept_receipt(in.receipt, actor_).order_id, order_);
}

TEST_P(Transfer, AnIdentityConflictRefusesTheDocumentAndWritesNothing) {
  // The destination has the ID number registered under another name: the document is refused
  // (409 naming the field, not what is registered), no order or person is written, and the
  // same document goes through once the registry agrees.
  std::vector<Person> ps(1);
  ps[0].doc_number = person_.doc_number;
  ps[0].name = "旅客乙";
  ps[0].birth_date = person_.birth_date;
  ps[0].area_code = "440305001001001";
  sz_->repo->upsert_persons(ps);
  const std::string doc = send();
  std::string field;
  try {
    sz_->svc->transfer_in(doc, *sz_->signer, actor_);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::conflict);
    EXPECT_EQ(e.field(), "person.doc_number");
    EXPECT_EQ(std::string(e.what()).find("旅客乙"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(sz_->svc->loop().active_orders_of_person(ps[0].id).empty());
  EXPECT_FALSE(sz_->svc->loop().transfer("in", json::parse(payload_text(doc))["document_id"].get<std::string>()));
  auto p = sz_->repo->person(ps[0].id, Scope::everything());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "旅客乙");
  // Corrected here (the registry was wrong): the same document links to the registered person.
  ps[0].name = "旅客甲";
  sz_->repo->upsert_persons(ps);
  auto in = sz_->svc->transfer_in(doc, *sz_->signer, actor_);
  EXPECT_EQ(in.person_id, ps[0].id);
}

TEST_P(Transfer, TransferOutChecksTheRegion) {
  std::string field;
  EXPECT_EQ(code_of([&] { bj_->svc->transfer_out(order_, "110105", "", *bj_->signer, actor_); }, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "to_region");
  EXPECT_EQ(code_of([&] { bj_->svc->transfer_out(order_, "44x", "", *bj_->signer, actor_); }, &field),
            ErrorCode::invalid_argument);
  EXPECT_EQ(field, "to_region");
  auto o = bj_->svc->loop().order(order_, Scope::everything());
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->order.pending);
}

INSTANTIATE_TEST_SUITE_P(Backends, Transfer, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace bihuan::transfertest
