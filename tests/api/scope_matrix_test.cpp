// The route x role x scope test (issue 6, docs/SECURITY.md). Generated from the server's route
// table: every route must declare its jurisdiction, and for every route naming an object (in the
// path or in the body) and every role, an object outside the caller's scope answers exactly like
// an object that does not exist (same status, same body but for the id) and changes nothing in
// the database; lists and counts never show an object outside the scope.
#include "support.hpp"

#include <sqlite3.h>

#include <functional>
#include <regex>
#include <set>

#include "core/caller.hpp"
#include "ingest/import.hpp"
#include "store/import_repository.hpp"
#include "loop/service.hpp"
#include "loop/signed_document.hpp"
#include "nat/service.hpp"
#include "cases/referral_letters.hpp"
#include "nat/slots.hpp"
#include "cases/service.hpp"
#include "cases/treatment.hpp"
#include "risk/service.hpp"
#include "store/risk_repository.hpp"
#include "response/service.hpp"
#include "store/warning_repository.hpp"
#include "resident/service.hpp"
#include "bulletin/service.hpp"
#include "store/enterprise_repository.hpp"
#include "store/needs_repository.hpp"
#include "store/stock_repository.hpp"

namespace bihuan::testing {
namespace {

// Everything in the database except what a request may add whatever it asks (its session and
// its audit record): one text per table.
std::string fingerprint(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  std::string out;
  std::vector<std::string> tables;
  {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
  }
  for (const auto& t : tables) {
    if (t == "audit_log" || t == "audit_queue_moved" || t == "sessions" || t == "api_tokens" || t.rfind("sqlite_", 0) == 0) continue;
    sqlite3_stmt* st = nullptr;
    const std::string sql = "SELECT * FROM \"" + t + "\" ORDER BY 1";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) continue;
    out += "[" + t + "]";
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* v = sqlite3_column_text(st, c);
        out += v ? reinterpret_cast<const char*>(v) : "~";
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

// The answer with the given ids replaced, so that "no such order: 7" equals "no such order: 999999".
std::string normalised(std::string body, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (id.empty()) continue;
    for (auto p = body.find(id); p != std::string::npos; p = body.find(id, p)) {
      body.replace(p, id.size(), "#");
      ++p;
    }
  }
  return body;
}

class ScopeMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    path_ = (dir_->path() / "scope.db").string();
    const std::string url = "sqlite:" + path_;
    clock_ = new ManualClock(*parse_instant("2022-07-01T01:00:00Z"));
    world_ = new World();
    {
      auto repo = store::open_repository(url);
      world_->seed(*repo, clock_->now());
      std::vector<Org> orgs = {{0, "PORT-1", "口岸一", OrgKind::port, World::kStreet, "", ""},
                               {0, "PORT-2", "口岸二", OrgKind::port, World::kStreet, "", ""},
                               {0, "SITE-1", "隔离点一", OrgKind::quarantine_site, World::kStreet, "", ""},
                               {0, "SITE-2", "隔离点二", OrgKind::quarantine_site, World::kStreet, "", ""},
                               {0, "HOSP-1", "医院一", OrgKind::hospital, World::kStreet, "", ""},
                               {0, "HOSP-2", "医院二", OrgKind::hospital, World::kStreet, "", ""},
                               {0, "TEAM-1", "转运专班", OrgKind::transfer_team, World::kStreet, "", ""},
                               {0, "LAB-1", "检测机构", OrgKind::lab, World::kStreet, "", ""},
                               {0, "LAB-2", "检测机构二", OrgKind::lab, World::kStreet, "", ""},
                               {0, "SHOP-1", "超市", OrgKind::enterprise, World::kGridA, "", ""},
                               {0, "SUPPLY-1", "保供公司", OrgKind::community, World::kGridA, "", ""}};
      repo->upsert_orgs(orgs);
      for (const auto& o : orgs) org_[o.code] = o.id;
      const std::string hash = api::hash_password(World::kPassword);
      auto user = [&](Role role, std::string area, std::int64_t org) {
        store::User u;
        u.username = std::string("m_") + to_string(role);
        u.password_hash = hash;
        u.role = role;
        u.scope_area = std::move(area);
        u.scope_org = org;
        u.created_at = clock_->now();
        repo->create_user(u);
        roles_.push_back(u.username);
      };
      // Area roles hold grid A; organisation roles their own organisation. Grid B, site 2,
      // port 2 and hospital 2 are outside every scope but the administrator's and auditor's.
      user(Role::admin, "", 0);
      user(Role::command_centre, World::kGridA, 0);
      user(Role::port_health, "", org_["PORT-1"]);
      user(Role::transfer_team, "", org_["TEAM-1"]);
      user(Role::quarantine_site, "", org_["SITE-1"]);
      user(Role::hospital, "", org_["HOSP-1"]);
      user(Role::lab, "", org_["LAB-1"]);
      user(Role::investigator, World::kGridA, 0);
      user(Role::grid_worker, World::kGridA, 0);
      user(Role::venue, "", org_["SHOP-1"]);
      user(Role::enterprise, "", world_->org_id);
      user(Role::auditor, "", 0);
      user(Role::sampler, World::kGridA, 0);
      user(Role::supply_station, "", org_["SUPPLY-1"]);  // grid B's station is not run by it

      // A household and two duplicate records in grid B, merged.
      std::vector<Household> hs = {{0, "H-B-1", 0, World::kGridB, "光华里9号楼"}};
      repo->upsert_households(hs);
      household_out_ = hs.front().id;
      std::vector<Person> dup;
      for (int i = 0; i < 2; ++i) {
        Person p;
        p.doc_type = DocType::passport;
        p.doc_number = "E9000000" + std::to_string(i);
        p.nationality = "USA";
        p.name = "李重复";
        p.birth_date = *parse_date("1980-01-01");
        p.area_code = World::kGridB;
        p.household_id = household_out_;
        dup.push_back(p);
      }
      repo->upsert_persons(dup);
      merge_kept_out_ = dup[0].id;
      merge_out_ = repo->merge_persons(dup[0].id, dup[1].id, 1, clock_->now()).id;

      // Orders: inside (grid A's resident at site 1) and outside (grid B's resident, home isolation
      // owned by grid B), each with a pending handover to hospital 2 and a fever alert.
      loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
      loop::Service svc(*repo, profiles, *clock_);
      const Caller admin = Caller::local("setup", 1);
      loop::NewOrder n;
      n.group = "close_contact";
      n.start = *parse_date("2022-07-01");
      n.person_id = world_->person_a;
      n.stage = loop::Stage::quarantine_site;
      n.owner = loop::Owner::org(org_["SITE-1"]);
      order_in_ = svc.create_order(n, admin).order.id;
      n.person_id = world_->person_b;
      n.stage = loop::Stage::home_isolation;
      n.owner = loop::Owner::area(World::kGridB);
      order_out_ = svc.create_order(n, admin).order.id;
      alert_out_ = svc.record_check(order_out_, 38.6, {}, std::nullopt, admin).alert_id;
      // A referral (协查) of grid B's resident by an investigator of another district.
      Caller inv;
      inv.user_id = 1;
      inv.username = "inv";
      inv.role = Role::investigator;
      inv.scope = Scope::area("110106");
      n.owner = loop::Owner::area("110106");
      referral_out_ = svc.create_or_refer(n, inv).referral->id;
      handover_out_ = svc.send_handover(order_out_, loop::Stage::hospital, loop::Owner::org(org_["HOSP-2"]), "", "", admin).id;

      // Testing (核酸检测) in grid B: a round, a point, a single tube of grid B's resident boxed to
      // lab 2 and resulted positive (a case and its alert), then contradicted (a conflict).
      {
        loop::CodeSigner signer((dir_->path() / "setup-signing").string());
        nat::Service nat(*repo, svc, &signer, *clock_);
        nat::NewRounds nr;
        nr.area_code = World::kGridB;
        nr.days = {*parse_date("2022-07-01")};
        nr.rule = "outbreak_district_10m";
        round_out_ = nat.start_rounds(nr, admin).at(0).id;
        nat::NewPoint np;
        np.name = "二网格采样点";
        np.area_code = World::kGridB;
        np.lab_org_id = org_["LAB-2"];
        const auto point = nat.create_point(np, admin);
        point_out_ = point.id;
        // The round's plan by household and time slot (its slots and grid B's households).
        nat::SlotService(*repo, *clock_, LocalTime{}).make_plan(round_out_, 60, admin);
        nat::NewTube nt;
        nt.barcode = "OUT-TUBE-1";
        nt.point_id = point.id;
        nt.ratio = 1;
        tube_out_ = nat.open_tube(nt, admin).id;
        nat::SampleWho who;
        who.doc_number = world_->doc_b;
        nat.sample(tube_out_, who, admin);
        box_out_ = nat.open_box("OUT-BOX-1", point.id, 0, admin).id;
        nat.add_to_box(box_out_, {"OUT-TUBE-1"}, admin);
        nat.seal_box(box_out_, admin);
        nat.receive_box(box_out_, admin);
        nat::ResultInput in;
        in.barcode = "OUT-TUBE-1";
        in.reported = "positive";
        nat.post_results({in}, org_["LAB-2"], "api", admin);
        in.reported = "negative";
        nat.post_results({in}, org_["LAB-2"], "api", admin);
        result_out_ = nat.tube(tube_out_, admin).results.at(0).id;
        nat_conflict_out_ = nat.conflicts("open", admin).at(0).id;
        for (const auto& a : nat.alerts("open", admin, {}).items)
          if (a.kind == "positive_case") nat_alert_out_ = a.id;
        if (!nat_alert_out_) throw std::runtime_error("expected a positive_case alert");
      }

      // Tracing (流调) in grid B: the case the positive result opened, a second case (the kept
      // duplicate) linked to it, a contact, a venue of grid B and its disinfection task.
      {
        std::vector<Venue> vs(1);
        vs[0].code = "V-OUT";
        vs[0].name = "二网格餐馆";
        vs[0].type = VenueType::restaurant;
        vs[0].area_code = World::kGridB;
        repo->upsert_venues(vs);
        cases::Service cs(*repo, svc, nullptr, *clock_, cases::Settings{});
        for (const auto& k : cs.cases({}, admin, store::Page{0, 100}).items)
          if (k.person_id == world_->person_b) case_out_ = k.id;
        if (!case_out_) throw std::runtime_error("expected the positive result's case");
        cases::NewCase nc;
        nc.person_id = merge_kept_out_;
        nc.fields.classification = "confirmed";
        nc.fields.onset_date = "2022-06-30";
        const auto second = cs.open_case(nc, admin).id;
        link_out_ = cs.link(case_out_, second, "probable", "", admin).id;
        contact_out_ = cs.add_contact(case_out_, world_->person_a, "", "n", admin).row.id;
        cs.add_place(case_out_, "V-OUT", "", clock_->now() - std::chrono::hours{3}, clock_->now() - std::chrono::hours{2}, admin);
        disinfection_out_ = cs.disinfections("open", admin, store::Page{0, 10}).items.at(0).id;
        // A referral letter (协查函) from another deployment, addressed to grid B, imported and
        // waiting for grid B's command centre.
        loop::CodeSigner peer((dir_->path() / "letter-peer").string());
        const auto& pk = peer.keys();
        const std::string peer_key = code::to_base64url(pk.public_key.data(), pk.public_key.size());
        svc.trust_sender("letter-peer", peer_key, admin);
        const json letter = {
            {"format", "bihuan-referral/1"},
            {"document_id", "peer:referral:1"},
            {"sender", {{"id", "peer"}, {"name", "外市"}, {"region", "4403"}, {"public_key", peer_key}}},
            {"to_region", World::kGridB},
            {"sent_at", format_instant(clock_->now())},
            {"expires_at", format_instant(clock_->now() + std::chrono::hours{24})},
            {"persons",
             {{{"index", 1}, {"doc_type", "resident_id"}, {"doc_number", make_id("19900101", 91)}, {"nationality", "CHN"},
               {"name", "外地人甲"}, {"sex", "female"}, {"area_code", World::kGridB}, {"group", "close_contact"}}}}};
        cases::Referrals letters(*repo, svc, nullptr, *clock_);
        letter_out_ = letters.import(loop::seal(letter.dump(), pk), admin).row.id;
        // The confirmed case in treatment at hospital 2 (a handover of its new order).
        cases::Treatment tr(*repo, svc, *clock_);
        treatment_out_ = tr.admit(second, {org_["HOSP-2"], "designated_hospital", "", "", ""}, admin).row.id;
      }

      // Risk areas (风险区) in grid B: a published area (designated by hand) and a pending proposal.
      {
        risk::Service rs(*repo, svc, *clock_, risk::Settings{});
        risk_area_out_ = rs.designate("grid", World::kGridB, "high", "r", admin).area.row.id;
        store::RiskProposalRow p;
        p.kind = "designate";
        p.unit_kind = "building";
        p.unit_ref = "77";
        p.area_code = World::kGridB;
        p.level = "high";
        p.profile = "ninth-edition";
        p.proposed_at = clock_->now();
        risk_proposal_out_ = rs.store().insert_proposal(p);
      }

      // Emergency response (应急响应): an event over grid B (neither inside grid A nor above it)
      // with its tasks, and a response level over another district.
      {
        repo->upsert_areas({{"110106", "丰台区", AreaLevel::county, "1101"}});
        response::Library lib(std::string(BIHUAN_SOURCE_DIR) + "/playbooks");
        response::Service rs(*repo, lib, *clock_, std::chrono::minutes{60}, store::local_time_of(*repo));
        const auto ev = rs.open_event("round-positive", World::kGridB, "", "演练", admin);
        event_out_ = ev.event.id;
        response_task_out_ = ev.tasks.at(0).id;
        level_out_ = rs.declare("IV", "110106", "演练", admin).id;
      }

      // Early warning (多点触发): a signal of another district (丰台区).
      {
        store::SignalRow sig;
        sig.feed = "fever_clinic";
        sig.area_code = "110106";
        sig.since = sig.last_day = "2022-06-30";
        sig.observed = sig.peak = 40;
        sig.expected = 10;
        sig.threshold = 20;
        sig.opened_at = sig.updated_at = clock_->now();
        signal_out_ = store::open_warning_repository(*repo)->insert_signal(sig);
      }

      // An appeal (赋码纠错) of grid B's resident, who is under control (a colour to correct).
      {
        resident::Service rs(*repo, &profiles, nullptr, *clock_, store::local_time_of(*repo), resident::Settings{});
        appeal_out_ = rs.file_appeal(world_->person_b, "未去过该场所").id;
      }
      // An enterprise (复工复产) in grid B with a submitted plan.
      {
        std::vector<Org> eo = {{0, "ENT-B", "二号工厂", OrgKind::enterprise, World::kGridB, "", ""}};
        repo->upsert_orgs(eo);
        enterprise_out_ = eo.front().id;
        auto ents = store::open_enterprise_repository(*repo);
        store::EnterpriseRow e;
        e.org_id = enterprise_out_;
        e.industry = "manufacturing";
        e.status = "submitted";
        e.plan_version = 1;
        e.registered_at = e.updated_at = clock_->now();
        ents->insert_enterprise(e);
        ents->replace_sites(enterprise_out_, {{"一厂", "", World::kGridB}});
        store::PlanVersionRow v;
        v.org_id = enterprise_out_;
        v.version = 1;
        v.status = "submitted";
        v.plan = "{}";
        v.acted_at = clock_->now();
        ents->add_plan_version(v);
      }

      // 保供 (issue 11): grid B's resident flagged as vulnerable, a dialysis request for them and
      // its trip with another transfer team and hospital 2.
      {
        std::vector<Org> team2 = {{0, "TEAM-2", "转运二组", OrgKind::transfer_team, World::kGridB, "", ""}};
        repo->upsert_orgs(team2);
        auto needs = store::open_needs_repository(*repo);
        store::VulnerableRow v;
        v.person_id = world_->person_b;
        v.category = "disability";
        v.area_code = World::kGridB;
        v.flagged_at = clock_->now();
        flag_out_ = needs->insert_flag(v);
        store::RequestRow r;
        r.person_id = world_->person_b;
        r.order_id = order_out_;
        r.area_code = World::kGridB;
        r.kind = "dialysis";
        r.priority = "high";
        r.appointment_at = clock_->now() + std::chrono::hours(4);
        r.deadline = *r.appointment_at;
        r.owner_kind = "grid";
        r.owner_area = World::kGridB;
        r.received_at = r.updated_at = clock_->now();
        request_out_ = needs->insert_request(r);
        store::TripRow t;
        t.request_id = request_out_;
        t.order_id = order_out_;
        t.transfer_org = team2.front().id;
        t.hospital_org = org_["HOSP-2"];
        t.home_stage = "home_isolation";
        t.home_area = World::kGridB;
        t.vehicle = "京B·00001";
        t.booked_at = t.updated_at = clock_->now();
        trip_out_ = needs->insert_trip(t);
      }
      // Supplies (保供): a station of grid B with a receiving point and stock, and a delivery from it
      // to grid B's household (written as stored rows: the route probes need only the objects).
      {
        auto st = store::open_stock_repository(*repo);
        st->insert_kind({"veg", "蔬菜包", "箱", 3, clock_->now()});
        store::StationRow s;
        s.name = "二网格保供站";
        s.area_code = World::kGridB;
        s.created_at = clock_->now();
        station_out_ = st->insert_station(s);
        store::PointRow p;
        p.station_id = station_out_;
        p.name = "9号楼收货点";
        p.area_code = World::kGridB;
        p.created_at = clock_->now();
        st->insert_point(p);
        store::MoveRow m;
        m.station_id = station_out_;
        m.kind = "veg";
        m.move = "receipt";
        m.quantity = 5;
        m.at = clock_->now();
        st->add_move(m);
        store::DeliveryRow d;
        d.station_id = station_out_;
        d.household_id = household_out_;
        d.area_code = World::kGridB;
        d.created_at = clock_->now();
        d.items = {{"veg", 1}};
        delivery_out_ = st->insert_delivery(d);
      }

      // The daily bulletin (每日疫情通报) of grid B (a draft) and a health-education article of grid B.
      {
        bulletin::Service bs(*repo, *clock_, store::local_time_of(*repo));
        bulletin_out_ = bs.generate("2022-06-30", World::kGridB, admin).row.id;
        bulletin::ArticleInput in;
        in.category = "prevention";
        in.title = "防护";
        in.body = "戴口罩";
        article_out_ = bs.create_article(in, World::kGridB, admin).id;
      }

      // Identity conflicts (身份冲突) found by an administrator's import: grid B's resident (outside)
      // and grid A's (inside), each registered under another name than the file's.
      ingest::ImportOptions io;
      io.kind = ingest::ImportKind::persons;
      io.today = *parse_date("2022-07-01");
      const auto rep = ingest::run_import(*repo,
                                          "证件号码,姓名,网格编码\n" + world_->doc_b + ",李四改," + World::kGridB + "\n" +
                                              world_->doc_a + ",张三改," + World::kGridA + "\n",
                                          io);
      if (rep.conflicts.size() != 2) throw std::runtime_error("expected two identity conflicts");
      auto imports = store::open_import_repository(*repo);
      for (const auto& c : imports->conflicts(Scope::everything(), true, store::Page{0, 10}).items)
        (c.person_id == world_->person_b ? conflict_out_ : conflict_in_) = c.id;
    }
    api::ServerOptions o;
    o.db_url = url;
    o.port = 0;
    o.db_threads = 2;
    o.clock = clock_;
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.playbooks_dir = std::string(BIHUAN_SOURCE_DIR) + "/playbooks";
    o.code_key = (dir_->path() / "code-signing").string();
    o.watch_interval = std::chrono::hours(1);
    server_ = new api::Server(o);
    server_->start();
  }
  static void TearDownTestSuite() {
    server_->stop();
    server_->wait();
    delete server_;
    delete world_;
    delete clock_;
    delete dir_;
  }

  // The object outside every limited scope, and an id nothing has, for a route's object.
  struct Target {
    std::string out, none;
  };
  static std::optional<Target> path_target(const std::string& pattern) {
    auto id = [](std::int64_t v) { return std::to_string(v); };
    if (pattern.rfind("/api/persons/{id}", 0) == 0) return Target{id(world_->person_b), "999999"};
    if (pattern.rfind("/api/households/{id}", 0) == 0) return Target{id(household_out_), "999999"};
    if (pattern.rfind("/api/merges/{id}", 0) == 0) return Target{id(merge_out_), "999999"};
    if (pattern.rfind("/api/areas/{code}", 0) == 0) return Target{World::kGridB, "110105001001099"};
    if (pattern.rfind("/api/loop/orders/{id}", 0) == 0) return Target{id(order_out_), "999999"};
    if (pattern.rfind("/api/loop/handovers/{id}", 0) == 0) return Target{id(handover_out_), "999999"};
    if (pattern.rfind("/api/loop/alerts/{id}", 0) == 0) return Target{id(alert_out_), "999999"};
    if (pattern == "/api/import/conflicts/{id}/resolve") return Target{id(conflict_out_), "999999"};
    if (pattern.rfind("/api/loop/referrals/{id}", 0) == 0) return Target{id(referral_out_), "999999"};
    if (pattern.rfind("/api/loop/sites/{org_id}", 0) == 0) return Target{id(org_["SITE-2"]), "999999"};
    if (pattern.rfind("/api/nat/rounds/{id}", 0) == 0) return Target{id(round_out_), "999999"};
    if (pattern.rfind("/api/nat/points/{id}", 0) == 0) return Target{id(point_out_), "999999"};
    if (pattern.rfind("/api/nat/tubes/{id}", 0) == 0) return Target{id(tube_out_), "999999"};
    if (pattern.rfind("/api/nat/boxes/{id}", 0) == 0) return Target{id(box_out_), "999999"};
    if (pattern.rfind("/api/nat/results/{id}", 0) == 0) return Target{id(result_out_), "999999"};
    if (pattern.rfind("/api/nat/conflicts/{id}", 0) == 0) return Target{id(nat_conflict_out_), "999999"};
    if (pattern.rfind("/api/nat/alerts/{id}", 0) == 0) return Target{id(nat_alert_out_), "999999"};
    if (pattern.rfind("/api/cases/{id}", 0) == 0) return Target{id(case_out_), "999999"};
    if (pattern.rfind("/api/treatments/{id}", 0) == 0) return Target{id(treatment_out_), "999999"};
    if (pattern.rfind("/api/hospitals/{id}", 0) == 0) return Target{id(org_["HOSP-2"]), "999999"};
    if (pattern.rfind("/api/contacts/{id}", 0) == 0) return Target{id(contact_out_), "999999"};
    if (pattern.rfind("/api/referral-letters/{id}", 0) == 0) return Target{id(letter_out_), "999999"};
    if (pattern.rfind("/api/links/{id}", 0) == 0) return Target{id(link_out_), "999999"};
    if (pattern.rfind("/api/disinfections/{id}", 0) == 0) return Target{id(disinfection_out_), "999999"};
    if (pattern.rfind("/api/risk-areas/proposals/{id}", 0) == 0) return Target{id(risk_proposal_out_), "999999"};
    if (pattern.rfind("/api/risk-areas/{id}", 0) == 0) return Target{id(risk_area_out_), "999999"};
    if (pattern.rfind("/api/response/events/{id}", 0) == 0) return Target{id(event_out_), "999999"};
    if (pattern.rfind("/api/response/tasks/{id}", 0) == 0) return Target{id(response_task_out_), "999999"};
    if (pattern.rfind("/api/response/levels/{id}", 0) == 0) return Target{id(level_out_), "999999"};
    if (pattern.rfind("/api/warning/signals/{id}", 0) == 0) return Target{id(signal_out_), "999999"};
    if (pattern.rfind("/api/appeals/{id}", 0) == 0) return Target{id(appeal_out_), "999999"};
    if (pattern.rfind("/api/bulletins/{id}", 0) == 0) return Target{id(bulletin_out_), "999999"};
    if (pattern.rfind("/api/articles/{id}", 0) == 0) return Target{id(article_out_), "999999"};
    if (pattern.rfind("/api/enterprises/{id}", 0) == 0) return Target{id(enterprise_out_), "999999"};
    if (pattern.rfind("/api/supply/risk-areas/{id}", 0) == 0) return Target{id(risk_area_out_), "999999"};
    if (pattern.rfind("/api/supply/households/{id}", 0) == 0) return Target{id(household_out_), "999999"};
    if (pattern.rfind("/api/supply/vulnerable/{id}", 0) == 0) return Target{id(flag_out_), "999999"};
    if (pattern.rfind("/api/supply/requests/{id}", 0) == 0) return Target{id(request_out_), "999999"};
    if (pattern.rfind("/api/supply/trips/{id}", 0) == 0) return Target{id(trip_out_), "999999"};
    if (pattern.rfind("/api/supply/stations/{id}", 0) == 0) return Target{id(station_out_), "999999"};
    if (pattern.rfind("/api/supply/deliveries/{id}", 0) == 0) return Target{id(delivery_out_), "999999"};
    return std::nullopt;
  }

  // A well-formed body for each route (so that the answer comes from the object, not the input).
  static std::string body_for(const std::string& method, const std::string& pattern, const std::string& object) {
    if (pattern == "/api/loop/handovers/{id}/withdraw") return R"({"reason":"行程取消"})";
    if (pattern == "/api/cases/{id}/referral-letters") return R"({"to_region":"4403"})";
    if (pattern == "/api/referral-letters/{id}/decline") return R"({"note":"n"})";
    if (pattern == "/api/referral-letters/{id}/accept") return json{{"owner_area", World::kGridA}}.dump();
    if (pattern == "/api/supply/households/{id}/needs") return R"({"necessities":"米"})";
    if (pattern == "/api/supply/vulnerable/{id}/clear") return R"({"reason":"r"})";
    if (pattern == "/api/supply/vulnerable") return json{{"person_id", std::stoll(object)}, {"category", "disability"}}.dump();
    if (pattern == "/api/supply/requests" && method == "POST")
      return json{{"person_id", std::stoll(object)}, {"kind", "necessities"}, {"detail", "米"}}.dump();
    if (pattern == "/api/supply/requests/{id}/status") return R"({"status":"accepted"})";
    if (pattern == "/api/supply/requests/{id}/trip")
      return json{{"transfer_org", org_["TEAM-1"]}, {"hospital_org", org_["HOSP-1"]}, {"vehicle", "v"}}.dump();
    if (pattern == "/api/supply/trips/{id}/advance") return R"({"note":"n"})";
    if (pattern == "/api/persons/{id}" && method == "PUT") return R"({"address":"改","revision":1})";
    if (pattern == "/api/merges/{id}/undo") return json{{"reason", "r"}, {"kept_id", merge_kept_out_}}.dump();
    if (pattern == "/api/merges")
      return json{{"kept_id", std::stoll(object)}, {"merged_id", world_->person_a2}, {"reason", "r"}}.dump();
    if (pattern == "/api/arrival-reports" && method == "POST")
      return json{{"person_id", std::stoll(object)}, {"origin", "440105"}, {"arrival_date", "2022-07-01"}}.dump();
    if (pattern == "/api/loop/orders" && method == "POST")
      return json{{"person_id", std::stoll(object)}, {"group", "close_contact"}, {"source", "close_contact"},
                  {"start_date", "2022-07-01"}, {"stage", "home_isolation"},
                  {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}
          .dump();
    if (pattern.find("/handover") != std::string::npos && method == "POST" && pattern.find("/handovers/") == std::string::npos)
      return json{{"to_stage", "hospital"}, {"receiver", {{"kind", "org"}, {"org_id", org_["HOSP-1"]}}}}.dump();
    if (pattern.find("/move") != std::string::npos) return R"({"to_stage":"home_monitoring"})";
    if (pattern.find("/checks") != std::string::npos) return R"({"temperature_c":36.5})";
    if (pattern.find("/tests") != std::string::npos) return R"({"day":"2022-07-01","result":"negative"})";
    if (pattern.find("/transfer-out") != std::string::npos) return R"({"to_region":"4403"})";
    if (pattern.find("/alerts/") != std::string::npos) return R"({"note":"n"})";
    if (pattern.find("/referrals/") != std::string::npos)
      return json{{"note", "n"}, {"owner", {{"kind", "area"}, {"area_code", World::kGridA}}}}.dump();
    if (pattern.find("/rooms") != std::string::npos) return R"({"rooms":[{"number":"9","type":"single","capacity":1}]})";
    if (pattern == "/api/import/conflicts/{id}/resolve") return R"({"action":"take","reason":"r"})";
    if (pattern.find("/antigen") != std::string::npos) return R"({"result":"negative"})";
    if (pattern.find("/samples") != std::string::npos) return json{{"doc_number", world_->doc_a}}.dump();
    if (pattern.find("/exclusions") != std::string::npos)
      return json{{"person_id", world_->person_a}, {"reason", "away"}}.dump();
    if (pattern == "/api/nat/boxes/{id}/tubes") return R"({"barcodes":["NO-SUCH-TUBE"]})";
    if (pattern == "/api/nat/points/{id}") return R"({"capacity_per_hour":100})";
    if (pattern == "/api/nat/rounds/{id}/slots" && method == "POST") return R"({"slot_minutes":30})";
    if (pattern.find("/pickup") != std::string::npos) return R"({"carrier":"c"})";
    if (pattern.find("/correct") != std::string::npos) return R"({"result":"negative","reason":"r"})";
    if (pattern.find("/api/nat/conflicts/") != std::string::npos) return R"({"note":"n"})";
    if (pattern.find("/assign") != std::string::npos) return R"({"order_ids":[]})";
    if (pattern == "/api/cases" && method == "POST")
      return json{{"person_id", std::stoll(object)}, {"classification", "confirmed"}}.dump();
    if (pattern == "/api/cases/{id}" && method == "PUT") return R"({"rev":1,"severity":"mild"})";
    if (pattern == "/api/cases/{id}/contacts" && method == "POST") return json{{"doc_number", world_->doc_a}}.dump();
    if (pattern == "/api/cases/{id}/places")
      return R"({"venue":"V-OUT","from":"2022-07-01T08:00:00+08:00","to":"2022-07-01T09:00:00+08:00"})";
    if (pattern == "/api/contacts/{id}/reject") return R"({"reason":"r"})";
    if (pattern == "/api/cases/{id}/treatment")
      return json{{"org_id", org_["HOSP-1"]}, {"facility", "designated_hospital"}}.dump();
    if (pattern == "/api/treatments/{id}/discharge") return R"({"note":"n"})";
    if (pattern == "/api/hospitals/{id}/facility") return R"({"facility":"shelter_hospital","beds":100})";
    if (pattern.rfind("/api/risk-areas/", 0) == 0 && method == "POST") return R"({"reason":"r"})";
    if (pattern == "/api/risk-areas" && method == "POST")
      return json{{"unit_kind", "grid"}, {"unit_ref", object}, {"level", "high"}, {"reason", "r"}}.dump();
    if (pattern == "/api/scan") return json{{"venue", object}, {"doc_number", world_->doc_a}}.dump();
    if (pattern == "/api/links") return json{{"infector_case_id", std::stoll(object)}, {"infectee_case_id", std::stoll(object)}}.dump();
    if (pattern == "/api/response/levels/{id}/end") return R"({"reason":"r"})";
    if (pattern == "/api/enterprises/{id}/plans/decide")
      return R"({"decision":"approve","epidemic_ok":true,"safety_ok":true})";
    if (pattern == "/api/enterprises/{id}/plans")
      return R"({"sites":[{"name":"一厂","zones":[{"name":"车间","kind":"production"}]}],"movement":"two_points",)"
             R"("testing":{"production":"inbound_contact_staff"},"isolation_room":"r","ppe_days":7,)"
             R"("responsible_head":{"name":"王","phone":"13800000000"}})";
    if (pattern == "/api/supply/stations/{id}" && method == "PUT") return R"({"name":"改名","status":"closed"})";
    if (pattern == "/api/supply/stations/{id}/points")
      return json{{"name", "新收货点"}, {"area_code", World::kGridB}}.dump();
    if (pattern == "/api/supply/stations/{id}/stock") return R"({"move":"receipt","lines":[{"kind":"veg","quantity":2}]})";
    if (pattern.rfind("/api/supply/deliveries/{id}/", 0) == 0) return R"({"rev":1,"receiver":"本人","reason":"拒收"})";
    if (pattern == "/api/supply/deliveries" && method == "POST")
      return json{{"station_id", std::stoll(object)}, {"household_id", household_out_}, {"items", {{{"kind", "veg"}, {"quantity", 1}}}}}
          .dump();
    if (pattern == "/api/supply/stations" && method == "POST")
      return json{{"name", "新站"}, {"area_code", object}}.dump();
    if (pattern == "/api/appeals/{id}/answer") return R"({"decision":"rejected","answer":"n"})";
    if (pattern == "/api/response/events/{id}/close") return R"({"note":"n"})";
    if (pattern == "/api/response/events/{id}/log") return R"({"text":"t"})";
    if (pattern == "/api/response/tasks/{id}/check") return R"({"item":0,"done":true})";
    if (pattern == "/api/response/tasks/{id}/done") return R"({"note":"n"})";
    if (pattern == "/api/response/levels") return json{{"level", "IV"}, {"area_code", object}, {"reason", "r"}}.dump();
    if (pattern == "/api/response/events" && method == "POST")
      return json{{"playbook", "local-case"}, {"area_code", object}, {"note", "n"}}.dump();
    if (pattern == "/api/bulletins/{id}" && method == "PUT") return R"({"rev":1,"note":"n"})";
    if (pattern == "/api/bulletins/{id}/publish") return R"({"reason":"r"})";
    if (pattern == "/api/bulletins") return json{{"day", "2022-06-30"}, {"area", object}}.dump();
    if (pattern == "/api/articles/{id}" && method == "PUT") return R"({"rev":1,"title":"t"})";
    if (pattern == "/api/articles/{id}/withdraw") return R"({"reason":"r"})";
    if (pattern == "/api/chains/import")
      return "infector,infectee,infector_onset,infectee_onset\nA1,A2,2020-01-10,2020-01-14\n";
    if (pattern == "/api/articles" && method == "POST")
      return json{{"area", object}, {"category", "prevention"}, {"title", "t"}, {"body", "b"}}.dump();
    return method == "GET" ? std::string() : std::string("{}");
  }

  static HttpResult call(Client& c, const std::string& method, const std::string& path, const std::string& body) {
    if (method == "GET") return c.get(path);
    if (method == "PUT") return c.put(path, body);
    return c.post(path, body);
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string path_;
  static inline ManualClock* clock_ = nullptr;
  static inline World* world_ = nullptr;
  static inline api::Server* server_ = nullptr;
  static inline std::map<std::string, std::int64_t> org_;
  static inline std::vector<std::string> roles_;
  static inline std::int64_t household_out_ = 0, merge_out_ = 0, merge_kept_out_ = 0;
  static inline std::int64_t order_in_ = 0, order_out_ = 0, alert_out_ = 0, handover_out_ = 0, referral_out_ = 0;
  static inline std::int64_t conflict_in_ = 0, conflict_out_ = 0;
  static inline std::int64_t point_out_ = 0;
  static inline std::int64_t round_out_ = 0, tube_out_ = 0, box_out_ = 0, result_out_ = 0, nat_conflict_out_ = 0,
                             nat_alert_out_ = 0;
  static inline std::int64_t case_out_ = 0, contact_out_ = 0, link_out_ = 0, disinfection_out_ = 0, treatment_out_ = 0;
  static inline std::int64_t letter_out_ = 0;
  static inline std::int64_t risk_area_out_ = 0, risk_proposal_out_ = 0;
  static inline std::int64_t event_out_ = 0, response_task_out_ = 0, level_out_ = 0;
  static inline std::int64_t signal_out_ = 0;
  static inline std::int64_t appeal_out_ = 0;
  static inline std::int64_t bulletin_out_ = 0, article_out_ = 0;
  static inline std::int64_t enterprise_out_ = 0;
  static inline std::int64_t flag_out_ = 0, request_out_ = 0, trip_out_ = 0;
  static inline std::int64_t station_out_ = 0, delivery_out_ = 0;
};

TEST_F(ScopeMatrix, EveryRouteDeclaresItsJurisdiction) {
  for (const auto& r : server_->router().routes())
    EXPECT_NE(r.jurisdiction, api::Jurisdiction::unset) << r.method << " " << r.pattern << " declares no jurisdiction";
  // Every route naming an object in its path is one this test knows how to probe.
  for (const auto& r : server_->router().routes()) {
    if (r.jurisdiction == api::Jurisdiction::scoped_object) {
      EXPECT_TRUE(path_target(r.pattern)) << r.method << " " << r.pattern << ": add its object to the scope matrix";
    }
  }
}

TEST_F(ScopeMatrix, OutsideTheScopeAnswersLikeNothingAndChangesNothing) {
  std::map<std::string, Client> clients;
  for (const auto& name : roles_) clients.emplace(name, login(server_->port(), name));
  int probes = 0;
  for (const auto& r : server_->router().routes()) {
    std::vector<std::pair<std::string, Target>> cases;  // (path with the object, target)
    if (r.jurisdiction == api::Jurisdiction::scoped_object) {
      auto t = path_target(r.pattern);
      ASSERT_TRUE(t) << r.pattern;
      if (t->out.empty()) continue;
      const auto open = r.pattern.find('{'), close = r.pattern.find('}');
      auto path_of = [&](const std::string& v) { return r.pattern.substr(0, open) + v + r.pattern.substr(close + 1); };
      cases.emplace_back(path_of("@"), *t);
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create &&
               (r.pattern == "/api/loop/orders" || r.pattern == "/api/merges" || r.pattern == "/api/cases" ||
                r.pattern == "/api/arrival-reports" ||
                r.pattern == "/api/supply/requests" || r.pattern == "/api/supply/vulnerable")) {
      cases.emplace_back(r.pattern, Target{std::to_string(world_->person_b), "999999"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create && r.pattern == "/api/scan") {
      cases.emplace_back(r.pattern, Target{"V-OUT", "V-NONE"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create && r.pattern == "/api/risk-areas") {
      cases.emplace_back(r.pattern, Target{World::kGridB, "110105001001099"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create &&
               (r.pattern == "/api/response/levels" || r.pattern == "/api/response/events")) {
      cases.emplace_back(r.pattern, Target{"110106", "110199"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create &&
               (r.pattern == "/api/bulletins" || r.pattern == "/api/articles")) {
      cases.emplace_back(r.pattern, Target{World::kGridB, "110105001001099"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create && r.pattern == "/api/links") {
      cases.emplace_back(r.pattern, Target{std::to_string(case_out_), "999999"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create && r.pattern == "/api/supply/deliveries") {
      cases.emplace_back(r.pattern, Target{std::to_string(station_out_), "999999"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create && r.pattern == "/api/supply/stations") {
      cases.emplace_back(r.pattern, Target{World::kGridB, "110105001001099"});
    } else if (r.jurisdiction == api::Jurisdiction::scoped_create && r.pattern == "/api/chains/import") {
      cases.emplace_back(r.pattern + "?format=pairs&area=@", Target{World::kGridB, "110105001001099"});
    } else if (r.jurisdiction == api::Jurisdiction::transfer && r.pattern.find("{id}") != std::string::npos) {
      const auto open = r.pattern.find('{'), close = r.pattern.find('}');
      cases.emplace_back(r.pattern.substr(0, open) + "@" + r.pattern.substr(close + 1),
                         Target{std::to_string(order_out_), "999999"});
    }
    for (const auto& [templ, t] : cases) {
      for (const auto& role : roles_) {
        if (role == "m_admin" || role == "m_auditor") continue;  // the whole system: nothing is outside
        // Organisation-scoped roles browse the area tree by name (their counts are scoped).
        if (r.pattern.rfind("/api/areas/", 0) == 0 &&
            org_scoped(*role_from(role.substr(2))))
          continue;
        auto& c = clients.at(role);
        auto with = [&](const std::string& v) {
          std::string p = templ;
          if (auto at = p.find('@'); at != std::string::npos) p.replace(at, 1, v);
          return p;
        };
        const std::string before = fingerprint(path_);
        auto out = call(c, r.method, with(t.out), body_for(r.method, r.pattern, t.out));
        const std::string after_out = fingerprint(path_);
        auto none = call(c, r.method, with(t.none), body_for(r.method, r.pattern, t.none));
        const std::string after_none = fingerprint(path_);
        ++probes;
        const std::string what = role + " " + r.method + " " + with(t.out);
        if (role == "m_investigator" && r.pattern == "/api/loop/orders") {
          // An investigator's order for anyone outside its area becomes a referral (协查), whether
          // or not the person exists: both answers are the same but for the referral's own id.
          ASSERT_EQ(out.status, 202) << what << ": " << out.body;
          ASSERT_EQ(none.status, 202) << what << ": " << none.body;
          json a = out.j(), b = none.j();
          a["referral"].erase("id");
          b["referral"].erase("id");
          a["referral"].erase("person_id");
          b["referral"].erase("person_id");
          EXPECT_EQ(a, b) << what;
          continue;
        }
        EXPECT_EQ(out.status, none.status) << what << "\n outside: " << out.body << "\n unknown: " << none.body;
        EXPECT_EQ(normalised(out.body, {t.out}), normalised(none.body, {t.none})) << what;
        EXPECT_NE(out.status / 100, 2) << what << " reached an object outside the scope: " << out.body;
        EXPECT_TRUE(before == after_out) << what << " changed the database";
        EXPECT_TRUE(after_out == after_none) << what << " (unknown id) changed the database";
      }
    }
  }
  EXPECT_GT(probes, 100);
}

TEST_F(ScopeMatrix, ListsAndCountsShowNothingOutside) {
  // What identifies the people and orders outside: grid B's resident and the merged pair.
  const std::vector<std::string> secrets = {"李四", "李*", world_->doc_b, mask_id_number(world_->doc_b), "李重复",
                                            "李**"};
  for (const auto& role : roles_) {
    if (role == "m_admin" || role == "m_auditor") continue;
    Client c = login(server_->port(), role);
    for (const auto& r : server_->router().routes()) {
      if (r.jurisdiction != api::Jurisdiction::scoped_list || r.method != "GET") continue;
      std::string path = r.pattern;
      if (path == "/api/persons") path += "?area=" + std::string(World::kCounty);
      if (path == "/api/loop/receivers") path += "?to_stage=hospital";
      // An event stream stays open; its events are /api/alerts/recent's answers, probed here
      // from the first alert on (and in AlertsArePushedOnlyInsideTheScope).
      if (path == "/api/alerts/stream") continue;
      if (path == "/api/alerts/recent") path += "?after=0.0";
      auto res = c.get(path);
      for (const auto& s : secrets)
        EXPECT_EQ(res.body.find(s), std::string::npos) << role << " GET " << path << " shows " << s << ": " << res.body;
    }
    // Counts agree with what is listed: the board counts only the orders the caller sees.
    auto board = c.get("/api/loop/board");
    if (board.status == 200) {
      std::int64_t counted = 0;
      const json b = board.j();
      for (const auto& s : b["by_stage"]) counted += s["count"].get<std::int64_t>();
      EXPECT_EQ(counted, static_cast<std::int64_t>(c.get("/api/loop/orders?status=active").j()["items"].size())) << role;
    }
    // Area counts: grid A's worker counts grid A's people only.
    auto areas = c.get("/api/areas");
    const json area_list = areas.status == 200 ? areas.j() : json::object();
    if (areas.status == 200)
      for (const auto& a : area_list["items"]) {
        if (a["code"] == World::kGridA) {
          EXPECT_EQ(a["persons"], 2) << role;
        }
      }
  }
}

// Alerts pushed to consoles (GET /api/alerts/recent, the events of /api/alerts/stream): the fever
// alert of grid B's order and the positive-case alert of lab 2 reach the administrator and nobody
// scoped elsewhere; roles that read no alerts are refused.
TEST_F(ScopeMatrix, AlertsArePushedOnlyInsideTheScope) {
  for (const auto& role : roles_) {
    Client c = login(server_->port(), role);
    auto res = c.get("/api/alerts/recent?after=0.0");
    const Role ro = *role_from(role.substr(2));
    if (!has_permission(ro, Permission::loop_read) && !has_permission(ro, Permission::test_read)) {
      EXPECT_EQ(res.status, 403) << role << ": " << res.body;
      continue;
    }
    ASSERT_EQ(res.status, 200) << role << ": " << res.body;
    bool loop_out = false, nat_out = false;
    const json body = res.j();
    for (const auto& a : body["alerts"]) {
      if (a["source"] == "loop" && a["id"] == alert_out_) loop_out = true;
      if (a["source"] == "nat" && a["id"] == nat_alert_out_) nat_out = true;
    }
    if (role == "m_admin") {
      EXPECT_TRUE(loop_out) << res.body;
      EXPECT_TRUE(nat_out) << res.body;
      continue;
    }
    EXPECT_FALSE(loop_out) << role << " is told of grid B's alert: " << res.body;
    EXPECT_FALSE(nat_out) << role << " is told of lab 2's alert: " << res.body;
  }
}

// Treatments (病例救治) are listed for the hospital holding them and the command centre of the
// case's area only: hospital 2's patient of grid B is in nobody's list but the administrator's.
TEST_F(ScopeMatrix, TreatmentsAreListedOnlyForTheirHospitalAndArea) {
  for (const auto& role : roles_) {
    Client c = login(server_->port(), role);
    auto res = c.get("/api/treatments");
    if (role == "m_admin") {
      ASSERT_EQ(res.status, 200) << res.body;
      ASSERT_EQ(res.j()["items"].size(), 1u) << res.body;
      EXPECT_EQ(res.j()["items"][0]["id"], treatment_out_);
      continue;
    }
    if (res.status != 200) {
      EXPECT_EQ(res.status, 403) << role << ": " << res.body;
      continue;
    }
    EXPECT_TRUE(res.j()["items"].empty()) << role << ": " << res.body;
  }
}

// Analytics (issue 10) count only the cases registered in the caller's area: grid B's cases are
// counted for the administrator and for nobody scoped to grid A; a district filter aimed outside
// answers exactly like an unknown area; roles without analytics.read are refused.
TEST_F(ScopeMatrix, AnalyticsCountOnlyTheCasesInsideTheScope) {
  auto count = [](const std::string& pattern, const json& j) -> std::int64_t {
    std::int64_t n = 0;
    if (pattern == "/api/analytics/curves")
      for (const auto& v : j["total"]) n += v.get<std::int64_t>();
    else if (pattern == "/api/analytics/rt")
      for (const char* k : {"local", "imported"})
        for (const auto& v : j[k]) n += v.get<std::int64_t>();
    else
      n = j["cases"].get<std::int64_t>();
    return n;
  };
  const std::string range = "?from=2022-06-01&to=2022-07-01&origin=all&by=report";
  int routes = 0;
  for (const auto& r : server_->router().routes()) {
    if (r.pattern.rfind("/api/analytics/", 0) != 0) continue;
    ++routes;
    for (const auto& role : roles_) {
      Client c = login(server_->port(), role);
      auto res = c.get(r.pattern + range);
      const Role ro = *role_from(role.substr(2));
      if (!has_permission(ro, Permission::analytics_read)) {
        EXPECT_EQ(res.status, 403) << role << " " << r.pattern << ": " << res.body;
        continue;
      }
      ASSERT_EQ(res.status, 200) << role << " " << r.pattern << ": " << res.body;
      if (role == "m_admin") {
        EXPECT_GE(count(r.pattern, res.j()), 1) << r.pattern << ": grid B's case: " << res.body;
        continue;
      }
      EXPECT_EQ(count(r.pattern, res.j()), 0) << role << " " << r.pattern << " counts a case outside: " << res.body;
      auto outside = c.get(r.pattern + range + "&district=" + World::kGridB);
      auto unknown = c.get(r.pattern + range + "&district=110105001001099");
      EXPECT_EQ(outside.status, 200) << outside.body;
      EXPECT_EQ(normalised(outside.body, {World::kGridB}), normalised(unknown.body, {"110105001001099"}))
          << role << " " << r.pattern;
    }
  }
  EXPECT_EQ(routes, 4);
}

// Early warning, vaccination, capacity and maps (issue 10) aimed at an area outside the caller's
// (grid B for grid A's roles) answer exactly like an unknown area and change nothing; a feed row
// of an area outside is refused by the file's report like an unknown area.
TEST_F(ScopeMatrix, WarningRoutesAnswerAnAreaOutsideLikeNothing) {
  const std::string outside = World::kGridB, unknown = "110105001001099";
  const std::vector<std::pair<std::string, std::string>> gets = {
      {"m_command_centre", "/api/warning/series?feed=fever_clinic&area="},
      {"m_command_centre", "/api/warning/sites?feed=pharmacy&area="},
      {"m_command_centre", "/api/vaccination/coverage?area="},
      {"m_command_centre", "/api/capacity?area="},
      {"m_command_centre", "/api/maps/areas?parent="},
      {"m_investigator", "/api/vaccination/coverage?area="},
      {"m_grid_worker", "/api/vaccination/elderly?area="},
      {"m_command_centre", "/api/vaccination/elderly?area="}};
  for (const auto& [role, path] : gets) {
    Client c = login(server_->port(), role);
    auto out = c.get(path + outside);
    auto none = c.get(path + unknown);
    EXPECT_EQ(out.status, 404) << role << " " << path << ": " << out.body;
    EXPECT_EQ(normalised(out.body, {outside}), normalised(none.body, {unknown})) << role << " " << path;
  }
  Client centre = login(server_->port(), "m_command_centre");
  const std::string before = fingerprint(path_);
  auto rule = [&](const std::string& area) {
    return centre.put("/api/warning/rules", json{{"feed", "school"}, {"area_code", area}, {"k", 4}}.dump());
  };
  auto out = rule(outside), none = rule(unknown);
  EXPECT_EQ(out.status, 404) << out.body;
  EXPECT_EQ(normalised(out.body, {outside}), normalised(none.body, {unknown}));
  EXPECT_EQ(fingerprint(path_), before);
  auto feed = [&](const std::string& area) {
    json j = wait_job(centre, centre.request(http::verb::post, "/api/warning/feeds/pharmacy",
                                             "date,site,area_code,count\n2022-06-30,P1," + area + ",3\n", "text/csv"));
    j.erase("id");
    j.erase("created_at");
    j.erase("started_at");
    j.erase("finished_at");
    return j.dump();
  };
  const std::string f_out = feed(outside), f_none = feed(unknown);
  EXPECT_NE(f_out.find("jurisdiction"), std::string::npos) << f_out;
  EXPECT_EQ(normalised(f_out, {outside}), normalised(f_none, {unknown}));
  EXPECT_EQ(centre.get("/api/warning/signals").j()["items"].size(), 0u);
}

// POST /api/persons with a document number that is registered: the answer is the same whether
// the record lies inside the caller's grid or outside it (no id, no area, nothing written), and
// the refusal is audited.
TEST_F(ScopeMatrix, CreatingARegisteredNumberRevealsNotWhereItIs) {
  Client grid = login(server_->port(), "m_grid_worker");
  auto create = [&](const std::string& doc) {
    return grid.post("/api/persons", json{{"doc_number", doc}, {"name", "新登记"}, {"area_code", World::kGridA}}.dump());
  };
  const std::string before = fingerprint(path_);
  auto outside = create(world_->doc_b);  // registered in grid B: invisible to grid A's worker
  auto inside = create(world_->doc_a);   // registered in grid A
  EXPECT_EQ(fingerprint(path_), before);
  EXPECT_EQ(outside.status, 409) << outside.body;
  EXPECT_EQ(inside.status, 409) << inside.body;
  EXPECT_EQ(outside.body, inside.body);
  EXPECT_EQ(outside.body.find(std::to_string(world_->person_b)), std::string::npos) << outside.body;
  EXPECT_EQ(outside.body.find(World::kGridB), std::string::npos) << outside.body;
  auto repo = store::open_repository("sqlite:" + path_);
  store::AuditQuery q;
  q.action = "person.create_refused";
  const auto refused = repo->find_audit(q, store::Page{0, 10}).items;
  ASSERT_GE(refused.size(), 2u);
  EXPECT_EQ(refused[0].username, "m_grid_worker");
  EXPECT_EQ(refused[0].detail.find(world_->doc_a), std::string::npos);  // masked
}

// Inside the scope the same routes work: the grid worker reads its resident and the order of a
// traveller held for it; the site reads the order it holds.
TEST_F(ScopeMatrix, InsideTheScopeTheObjectIsThere) {
  Client grid = login(server_->port(), "m_grid_worker");
  EXPECT_EQ(grid.get("/api/persons/" + std::to_string(world_->person_a)).status, 200);
  EXPECT_EQ(grid.get("/api/loop/orders/" + std::to_string(order_in_)).status, 200);
  Client site = login(server_->port(), "m_quarantine_site");
  EXPECT_EQ(site.get("/api/loop/orders/" + std::to_string(order_in_)).status, 200);
  // The site acts on the person it holds: reads the record and the code (not a resident of its).
  EXPECT_EQ(site.get("/api/persons/" + std::to_string(world_->person_a)).status, 200);
  EXPECT_EQ(site.get("/api/persons/" + std::to_string(world_->person_a) + "/code").status, 200);
  EXPECT_EQ(site.get("/api/loop/sites/" + std::to_string(org_["SITE-1"])).status, 200);
  Client centre = login(server_->port(), "m_command_centre");
  EXPECT_EQ(centre.get("/api/loop/orders/" + std::to_string(order_in_)).status, 200);
  // Identity conflicts: grid A's command centre lists and resolves the one of its resident (and
  // only that one); grid A's worker, without person.merge, is refused.
  auto conflicts = centre.get("/api/import/conflicts");
  ASSERT_EQ(conflicts.status, 200) << conflicts.body;
  ASSERT_EQ(conflicts.j()["items"].size(), 1u) << conflicts.body;
  EXPECT_EQ(conflicts.j()["items"][0]["id"], conflict_in_);
  const std::string resolve = "/api/import/conflicts/" + std::to_string(conflict_in_) + "/resolve";
  EXPECT_EQ(grid.post(resolve, R"({"action":"keep","reason":"r"})").status, 403);
  auto kept = centre.post(resolve, R"({"action":"keep","reason":"checked the papers"})");
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(kept.j()["status"], "kept");
  EXPECT_EQ(centre.post(resolve, R"({"action":"keep","reason":"again"})").status, 409);
}

// Creates other than orders and merges, aimed outside the caller's scope (issue 6): a registry
// import naming another area's people, a manifest of another port, a receipt for a transfer of
// an order outside the scope. Each is refused, writes nothing of the registry or the loop, and
// where it names an object answers exactly like an object that does not exist.
TEST_F(ScopeMatrix, CreatesAimedOutsideTheScopeAreRefusedLikeNothing) {
  auto repo = store::open_repository("sqlite:" + path_);
  // --- persons import by grid A's command centre: a new number in grid B, and grid B's resident
  // moved into grid A by the file. Both rows are refused; grid B's record is not shown.
  Client centre = login(server_->port(), "m_command_centre");
  const std::string fresh = make_id("19770707", 71);
  const std::string csv = "证件号码,姓名,网格编码\n" + fresh + ",新人," + World::kGridB + "\n" + world_->doc_b +
                          ",李四," + World::kGridA + "\n";
  const auto before = repo->person(world_->person_b, Scope::everything());
  ASSERT_TRUE(before);
  auto job = wait_job(centre, centre.request(http::verb::post, "/api/import/persons?mode=valid-rows", csv, "text/csv"));
  ASSERT_EQ(job["status"], "done") << job.dump();
  const json report = job["report"];
  EXPECT_EQ(report["accepted"], 0) << report.dump();
  EXPECT_EQ(report["rejected"], 2) << report.dump();
  const std::string text = report.dump();
  EXPECT_EQ(text.find("person_id"), std::string::npos) << text;  // no id of grid B's record
  EXPECT_EQ(text.find("光华里"), std::string::npos) << text;  // grid B's stored address
  EXPECT_FALSE(repo->person_by_doc(fresh, Scope::everything()));
  const auto after = repo->person(world_->person_b, Scope::everything());
  ASSERT_TRUE(after);
  EXPECT_EQ(after->area_code, World::kGridB);
  EXPECT_EQ(after->revision, before->revision);

  // --- a manifest for a port the caller does not act for answers like an unknown port, and
  // writes nothing.
  Client port = login(server_->port(), "m_port_health");
  const std::string manifest = "证件类型,证件号码,国籍,姓名,性别,出生日期\n护照,E55555555,USA,Probe,男,1980-01-02\n";
  auto post_manifest = [&](const std::string& port_org) {
    auto r = port.request(http::verb::post,
                          "/api/loop/manifests?kind=flight&ref=MU1&arrived_at=2022-07-01T00:30:00Z&port_org=" + port_org,
                          manifest, "text/csv");
    if (r.status != 202) return std::to_string(r.status) + " " + r.body;
    json j = wait_job(port, r);
    j.erase("id");
    return std::string("202 ") + j.dump();
  };
  const std::string other = post_manifest(std::to_string(org_["PORT-2"]));
  const std::string none = post_manifest("999999");
  EXPECT_EQ(normalised(other, {std::to_string(org_["PORT-2"])}), normalised(none, {"999999"}));
  EXPECT_EQ(other.find("口岸二"), std::string::npos) << other;
  EXPECT_FALSE(repo->person_by_doc("E55555555", Scope::everything()));

  // --- transfers are the command centre's; a receipt for a transfer of an order outside the
  // scope answers like a document never sent. Grid B's order goes out (by the administrator) to
  // Shenzhen, whose key this deployment trusts; Shenzhen's receipt, posted by grid A's command
  // centre, is "no transfer sent", exactly as for an unknown document id, and settles nothing.
  loop::CodeSigner peer((dir_->path() / "peer-signing").string());
  const auto& pk = peer.keys();
  const std::string peer_key = code::to_base64url(pk.public_key.data(), pk.public_key.size());
  {
    loop::Profiles profiles(std::string(BIHUAN_SOURCE_DIR) + "/policies");
    loop::Service svc(*repo, profiles, *clock_);
    svc.trust_sender("shenzhen-probe", peer_key, Caller::local("setup", 1));
  }
  Client admin = login(server_->port(), "m_admin");
  auto created = admin.post("/api/loop/orders", json{{"person_id", world_->person_b},
                                                     {"group", "inbound"},
                                                     {"source", "arrival_manifest"},
                                                     {"start_date", "2022-07-01"},
                                                     {"stage", "home_isolation"},
                                                     {"owner", {{"kind", "area"}, {"area_code", World::kGridB}}}}
                                                    .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string oid = std::to_string(created.j()["id"].get<std::int64_t>());
  auto sent = admin.post("/api/loop/orders/" + oid + "/transfer-out", R"({"to_region":"4403"})");
  ASSERT_EQ(sent.status, 201) << sent.body;
  const auto payload = code::from_base64url(json::parse(sent.body)["payload"].get<std::string>());
  const std::string document_id = json::parse(std::string(payload.begin(), payload.end()))["document_id"];
  auto receipt = [&](const std::string& doc_id) {
    const json r = {{"format", "bihuan-receipt/2"},
                    {"document_id", doc_id},
                    {"receiver", {{"id", "shenzhen"}, {"name", "深圳"}, {"region", "4403"}, {"public_key", peer_key}}},
                    {"received_at", "2022-07-01T02:00:00.000Z"},
                    {"order_ref", "shenzhen:1"},
                    {"owner_area", "440305001001001"}};
    return loop::seal(r.dump(), pk);
  };
  const std::string fp_receipt = fingerprint(path_);
  auto outside = centre.post("/api/loop/transfers/receipt", receipt(document_id));
  auto unknown = centre.post("/api/loop/transfers/receipt", receipt("beijing:999999:999999"));
  EXPECT_EQ(outside.status, 404) << outside.body;
  EXPECT_EQ(normalised(outside.body, {document_id}), normalised(unknown.body, {"beijing:999999:999999"}));
  EXPECT_EQ(fingerprint(path_), fp_receipt);
  // The administrator (whole deployment) settles it: the receipt itself was good.
  EXPECT_EQ(admin.post("/api/loop/transfers/receipt", receipt(document_id)).status, 200);
}

}  // namespace
}  // namespace bihuan::testing
