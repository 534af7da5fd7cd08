// 保供 over HTTP (docs/API-supply.md): grid A's worker lists the controlled household of its grid
// once its resident is under home isolation, records the household's needs, flags a vulnerable
// member (masked ID and phone in every answer), raises requests (a person not under control: 400
// naming person_id; grid B's resident: 404 like an unknown id; nothing written either way), moves
// a request through its statuses, and books a dialysis trip whose first leg is a handover of the
// person's control order; the deadlines are labelled settings; person reads are audited.
#include "support.hpp"

#include "loop/service.hpp"

namespace bihuan::testing {
namespace {

class NeedsApi : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override {
    o.policies_dir = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    o.code_key = (dir_.path() / "code-signing").string();
  }
  // Puts a person under home isolation owned by its grid (as the administrator).
  void isolate(Client& admin, std::int64_t person, const char* grid) {
    auto r = admin.post("/api/loop/orders", json{{"person_id", person},
                                                 {"group", "close_contact"},
                                                 {"source", "close_contact"},
                                                 {"start_date", "2026-01-01"},
                                                 {"stage", "home_isolation"},
                                                 {"owner", {{"kind", "area"}, {"area_code", grid}}}}
                                                .dump());
    ASSERT_EQ(r.status, 201) << r.body;
  }
};

TEST_F(NeedsApi, GridWorkerRecordsNeedsRaisesRequestsAndBooksATrip) {
  Client admin = login(server_->port(), "admin");
  Client grid = login(server_->port(), "grid_a");
  auto r = grid.get("/api/supply/households");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.j()["items"].empty());
  isolate(admin, world_.person_a, World::kGridA);
  isolate(admin, world_.person_b, World::kGridB);
  r = grid.get("/api/supply/households");
  ASSERT_EQ(r.j()["items"].size(), 1u) << r.body;
  EXPECT_EQ(r.j()["items"][0]["household_id"], world_.household_a);
  EXPECT_EQ(r.j()["items"][0]["needs_version"], 0);
  const std::string hh = "/api/supply/households/" + std::to_string(world_.household_a);

  r = grid.put(hh + "/needs", R"({"necessities":"米面油","medicines":"降压药","contact_phone":"13812345678"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["version"], 1);
  EXPECT_EQ(r.j()["contact_phone"], mask_phone("13812345678"));
  r = grid.put(hh + "/needs", R"({"contact_phone":"x"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.j()["field"], "contact_phone");

  r = grid.post("/api/supply/vulnerable", json{{"person_id", world_.person_a}, {"category", "dialysis"}, {"detail", "周一三五"}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.j()["doc_number"], mask_id_number(world_.doc_a));
  EXPECT_EQ(r.j()["phone"], mask_phone(world_.phone_a));
  EXPECT_EQ(r.j()["controlled"], true);
  r = grid.post("/api/supply/vulnerable", json{{"person_id", world_.person_a}, {"category", "frail"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.j()["field"], "category");

  const auto reads_before = audit_rows(url_, "person.read").size();
  r = grid.get(hh);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["needs"]["medicines"], "降压药");
  ASSERT_EQ(r.j()["members"].size(), 2u);
  EXPECT_EQ(r.j()["members"][0]["doc_number"], mask_id_number(world_.doc_a));
  EXPECT_EQ(r.j()["members"][0]["stage"], "home_isolation");
  EXPECT_TRUE(r.j()["members"][1]["order_id"].is_null());
  ASSERT_EQ(r.j()["flags"].size(), 1u);
  EXPECT_EQ(audit_rows(url_, "person.read").size(), reads_before + 1);

  // Requests: the household's other member is not under control; grid B's resident is outside.
  const auto before = grid.get("/api/supply/requests").j()["items"].size();
  r = grid.post("/api/supply/requests", json{{"person_id", world_.person_a2}, {"kind", "necessities"}, {"detail", "米"}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.j()["field"], "person_id");
  auto outside = grid.post("/api/supply/requests", json{{"person_id", world_.person_b}, {"kind", "necessities"}, {"detail", "米"}}.dump());
  auto unknown = grid.post("/api/supply/requests", json{{"person_id", 999999}, {"kind", "necessities"}, {"detail", "米"}}.dump());
  EXPECT_EQ(outside.status, 404) << outside.body;
  EXPECT_EQ(outside.j()["code"], unknown.j()["code"]);
  EXPECT_EQ(grid.get("/api/supply/requests").j()["items"].size(), before);

  r = grid.post("/api/supply/requests", json{{"person_id", world_.person_a}, {"kind", "necessities"}, {"detail", "米 10 斤"}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const auto food = r.j()["id"].get<std::int64_t>();
  EXPECT_EQ(r.j()["status"], "received");
  EXPECT_EQ(r.j()["owner"]["kind"], "grid");
  const std::string status = "/api/supply/requests/" + std::to_string(food) + "/status";
  EXPECT_EQ(grid.post(status, R"({"status":"refused"})").j()["field"], "reason");
  r = grid.post(status, R"({"status":"delivered"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["status"], "delivered");
  EXPECT_EQ(grid.post(status, R"({"status":"accepted"})").status, 409);
  r = grid.get("/api/supply/requests/" + std::to_string(food));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.j()["events"].size(), 2u);
  Client grid_b = login(server_->port(), "grid_b");
  EXPECT_EQ(grid_b.get("/api/supply/requests/" + std::to_string(food)).status, 404);

  // A dialysis visit needs its appointment; booked, its first leg is a handover to the team.
  r = grid.post("/api/supply/requests", json{{"person_id", world_.person_a}, {"kind", "dialysis"}}.dump());
  EXPECT_EQ(r.j()["field"], "appointment_at");
  r = grid.post("/api/supply/requests", json{{"person_id", world_.person_a},
                                             {"kind", "dialysis"},
                                             {"appointment_at", "2099-01-01T14:00:00+08:00"}}
                                            .dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.j()["priority"], "high");
  EXPECT_EQ(r.j()["medical"], true);
  const auto visit = r.j()["id"].get<std::int64_t>();
  {
    auto repo = store::open_repository(url_);
    std::vector<Org> orgs = {{0, "T-1", "转运一组", OrgKind::transfer_team, World::kStreet, "", ""},
                             {0, "H-1", "朝阳医院", OrgKind::hospital, World::kStreet, "", ""}};
    repo->upsert_orgs(orgs);
    r = grid.post("/api/supply/requests/" + std::to_string(visit) + "/trip",
                  json{{"transfer_org", orgs[0].id}, {"hospital_org", orgs[1].id}, {"vehicle", "京A·1"}}.dump());
  }
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.j()["status"], "booked");
  EXPECT_EQ(r.j()["pending"]["to_stage"], "transfer");
  EXPECT_EQ(r.j()["request"]["status"], "accepted");
  const auto trip = r.j()["id"].get<std::int64_t>();
  r = grid.get("/api/supply/trips/" + std::to_string(trip));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.j()["legs"].size(), 1u);
  // The grid worker cannot pick up for the transfer team.
  EXPECT_EQ(grid.post("/api/supply/trips/" + std::to_string(trip) + "/advance", "{}").status, 409);
  EXPECT_EQ(grid_b.get("/api/supply/trips/" + std::to_string(trip)).status, 404);

  r = grid.get("/api/supply/deadlines");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.j()["items"].size(), 3u);
  EXPECT_EQ(r.j()["items"][0]["key"], "supply.deadline_minutes.emergency");
  EXPECT_EQ(r.j()["items"][0]["minutes"], 30);
  // Lists need person.read: the enterprise account has it but no loop.read.
  Client ent = login(server_->port(), "enterprise");
  EXPECT_EQ(ent.get("/api/supply/requests").status, 403);
}

}  // namespace
}  // namespace bihuan::testing
