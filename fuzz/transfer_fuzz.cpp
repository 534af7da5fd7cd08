// Fuzzes handover documents between deployments (跨地区交接) through the public service API:
// loop::Service::transfer_in on the destination and loop::Service::accept_receipt on the
// sender. Two deployments live in throwaway SQLite databases and trust each other; at start the
// sender hands several orders over, so real documents and receipts exist. Input layout:
//   byte 0, bit 0   0 = a handover document for the destination, 1 = a receipt for the sender
//   byte 0, bit 1   1 = re-sign: the input is the document itself (the payload); when it is a JSON
//                   object its key is set to the trusted peer's, and it is sealed in a
//                   bihuan-signed/1 envelope with the peer's key over its exact bytes, so that the
//                   checks behind the signature are reached; 0 = the bytes as they come (an
//                   envelope: its parsing and signature checks included)
//   the rest        the envelope or the document
// Only bihuan::Error may come out, of the kinds the service documents.
#include <sodium.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/health_code.hpp"
#include "core/resident_id.hpp"
#include "fuzz_common.hpp"
#include "fuzz_world.hpp"
#include "loop/service.hpp"
#include "loop/signed_document.hpp"

using namespace bihuan;
using nlohmann::json;

namespace {

struct Side {
  std::unique_ptr<store::Repository> repo;
  std::unique_ptr<loop::CodeSigner> signer;
  std::unique_ptr<loop::Service> service;
  std::string public_key;
};

struct State {
  ManualClock clock{*parse_instant("2026-11-29T04:00:00Z")};
  loop::Profiles profiles{fuzz::source_path("policies")};
  fuzz::World beijing{"transfer-beijing"};
  Side from, to;
  Caller actor = Caller::local("fuzz", 1);
  std::vector<std::string> documents, receipts;

  void side(Side& s, std::unique_ptr<store::Repository> repo, const std::string& id, const std::string& region) {
    s.repo = std::move(repo);
    s.repo->set_setting("deployment.id", id);
    s.repo->set_setting("deployment.name", id + " command centre");
    s.repo->set_setting("deployment.region", region);
    s.signer = std::make_unique<loop::CodeSigner>((fuzz::scratch_dir() / (id + "-key")).string());
    const auto& k = s.signer->keys();
    s.public_key = code::to_base64url(k.public_key.data(), k.public_key.size());
    s.service = std::make_unique<loop::Service>(*s.repo, profiles, clock);
  }

  State() {
    side(from, std::move(beijing.repo), "beijing", "11");
    auto sz = store::open_repository("sqlite:" + (fuzz::scratch_dir() / "transfer-shenzhen.db").string());
    std::vector<Area> areas;
    for (const auto& [code, n] : std::vector<std::pair<std::string, std::string>>{
             {"44", "广东省"}, {"4403", "深圳市"}, {"440305", "南山区"}, {"440305001", "南头街道"},
             {"440305001001", "南头社区"}, {"440305001001001", "第1网格"}})
      areas.push_back(fuzz::make_area(code, n));
    sz->upsert_areas(areas);
    side(to, std::move(sz), "shenzhen", "4403");
    from.service->trust_sender("shenzhen", to.public_key, actor);
    to.service->trust_sender("beijing", from.public_key, actor);

    // Travellers at the Beijing site, bound for Nanshan: each handed over once.
    std::vector<Person> ps;
    for (int i = 0; i < 8; ++i) {
      std::string first17 = "11010519850307" + std::to_string(100 + i);
      Person p;
      p.doc_number = first17 + resident_id_check_char(first17);
      p.name = "旅客" + std::to_string(i);
      p.birth_date = fuzz::ymd(1985, 3, 7);
      p.sex = i % 2 ? Sex::female : Sex::male;
      p.phone = "1380013800" + std::to_string(i);
      p.area_code = "110105";
      ps.push_back(p);
    }
    from.repo->upsert_persons(ps);
    for (const auto& p : ps) {
      loop::NewOrder n;
      n.person_id = p.id;
      n.group = "inbound";
      n.source = loop::OrderSource::arrival_manifest;
      n.start = fuzz::ymd(2026, 11, 25);
      n.stage = loop::Stage::quarantine_site;
      n.owner = loop::Owner::org(beijing.site_org);
      n.destination_area = "440305001001001";
      auto row = from.service->create_order(n, actor);
      documents.push_back(from.service->transfer_out(row.order.id, "4403", "", *from.signer, actor));
    }
    // Half of them arrive; their receipts are real. The other half stay pending at the sender.
    for (std::size_t i = 0; i < documents.size() / 2; ++i)
      receipts.push_back(to.service->transfer_in(documents[i], *to.signer, actor).receipt);
    if (const char* dir = std::getenv("BIHUAN_FUZZ_WRITE_SEEDS")) write_seeds(dir);
  }

  // The signed document inside an envelope.
  static std::string payload(const std::string& envelope) {
    const auto bytes = code::from_base64url(json::parse(envelope)["payload"].get<std::string>());
    return std::string(bytes.begin(), bytes.end());
  }

  // Seeds for fuzz/corpus/transfer (run once by hand: see fuzz/README.md).
  void write_seeds(const std::string& dir) const {
    auto put = [&](const std::string& name, char mode, const std::string& text) {
      std::ofstream(dir + "/" + name, std::ios::binary) << mode << text;
    };
    put("document-raw", '\0', documents.back());
    put("receipt-raw", '\1', receipts.front());
    put("document-resign", '\2', payload(documents.back()));
    put("receipt-resign", '\3', payload(receipts.front()));
    auto j = json::parse(payload(documents.back()));
    j["tests"] = json::array({json{{"day", "2026-11-26"}, {"result", "negative"}}});
    put("document-tests-resign", '\2', j.dump());
  }
};
State& state() {
  static State s;
  return s;
}

// The input as a document of `peer` (key field `key_object`.public_key set to the peer's key when
// the input is a JSON object; other bytes are sealed as they are), in an envelope signed with the
// peer's key the way the service signs: Ed25519 over the exact payload bytes.
std::string resign(std::string_view text, const Side& peer, const char* key_object) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return loop::seal(text, peer.signer->keys());
  if (!j.contains(key_object) || !j[key_object].is_object()) j[key_object] = json::object();
  j[key_object]["public_key"] = peer.public_key;
  return loop::seal(j.dump(), peer.signer->keys());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (sodium_init() < 0) std::abort();
  (void)state();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& st = state();
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.byte();
  const bool receipt = mode & 1;
  std::string text(in.rest());
  if (mode & 2) {
    text = receipt ? resign(text, st.to, "receiver") : resign(text, st.from, "sender");
  }
  try {
    if (receipt) {
      const auto done = st.from.service->accept_receipt(text, st.actor);
      BIHUAN_FUZZ_CHECK(done.order_id > 0, "an accepted receipt names the order");
    } else {
      const auto got = st.to.service->transfer_in(text, *st.to.signer, st.actor);
      BIHUAN_FUZZ_CHECK(got.order_id > 0 && got.person_id > 0, "an imported document creates an order for a person");
      BIHUAN_FUZZ_CHECK(!got.receipt.empty(), "an imported document answers a receipt");
    }
  } catch (const Error& e) {
    const auto c = e.code();
    BIHUAN_FUZZ_CHECK(c == ErrorCode::invalid_argument || c == ErrorCode::unauthenticated || c == ErrorCode::conflict ||
                          c == ErrorCode::not_found || c == ErrorCode::permission_denied,
                      "a refused document is a documented error");
  }
  return 0;
}
