// Users, sessions, API tokens, the audit log, venues and organisations.
#include "fixture.hpp"

namespace bihuan::store::testing {
namespace {

using AccountsTest = RepoTest;

TEST_P(AccountsTest, UsersCreateReadUpdate) {
  User u;
  u.username = "admin";
  u.display_name = "管理员";
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$abc$def";
  u.role = Role::admin;
  u.created_at = from_unix_ms(1'700'000'000'123);
  const auto id = repo_->create_user(u);
  EXPECT_GT(id, 0);
  User w;
  w.username = "grid01";
  w.role = Role::grid_worker;
  w.scope_area = "110105001001001";
  const auto wid = repo_->create_user(w);

  auto got = repo_->user(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->username, "admin");
  EXPECT_EQ(got->display_name, "管理员");
  EXPECT_EQ(got->password_hash, u.password_hash);
  EXPECT_EQ(got->role, Role::admin);
  EXPECT_TRUE(got->active);
  EXPECT_EQ(got->created_at, from_unix_ms(1'700'000'000'123));
  EXPECT_EQ(repo_->user_by_name("grid01")->scope_area, "110105001001001");
  EXPECT_FALSE(repo_->user_by_name("nobody"));
  EXPECT_FALSE(repo_->user(99999));

  auto gw = *repo_->user(wid);
  gw.active = false;
  gw.role = Role::enterprise;
  gw.scope_area.clear();
  gw.scope_org = 17;
  repo_->update_user(gw);
  auto back = *repo_->user(wid);
  EXPECT_FALSE(back.active);
  EXPECT_EQ(back.role, Role::enterprise);
  EXPECT_EQ(back.scope_org, 17);

  gw.username = "admin";
  BIHUAN_EXPECT_ERROR(repo_->update_user(gw), conflict);
  gw.id = 99999;
  gw.username = "ghost";
  BIHUAN_EXPECT_ERROR(repo_->update_user(gw), not_found);
  auto all = repo_->users();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, id);
}

TEST_P(AccountsTest, SessionsAndTokens) {
  User u;
  u.username = "lab01";
  u.role = Role::lab;
  const auto uid = repo_->create_user(u);
  SessionRecord s{"hash-1", uid, from_unix_ms(1000), from_unix_ms(5000), "127.0.0.1"};
  repo_->put_session(s);
  auto got = repo_->session("hash-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->user_id, uid);
  EXPECT_EQ(got->expires_at, from_unix_ms(5000));
  EXPECT_EQ(got->ip, "127.0.0.1");
  s.expires_at = from_unix_ms(9000);  // sliding renewal overwrites
  repo_->put_session(s);
  EXPECT_EQ(repo_->session("hash-1")->expires_at, from_unix_ms(9000));
  repo_->delete_session("hash-1");
  EXPECT_FALSE(repo_->session("hash-1"));
  repo_->delete_session("hash-1");  // deleting twice is fine
  SessionRecord orphan{"hash-2", 424242, from_unix_ms(1), from_unix_ms(2), ""};
  BIHUAN_EXPECT_ERROR(repo_->put_session(orphan), invalid_argument);

  ApiToken t;
  t.user_id = uid;
  t.name = "LIS 接口";
  t.token_hash = "deadbeef";
  t.created_at = from_unix_ms(777);
  const auto tid = repo_->create_token(t);
  auto tok = repo_->token_by_hash("deadbeef");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->id, tid);
  EXPECT_EQ(tok->name, "LIS 接口");
  EXPECT_FALSE(tok->revoked);
  repo_->revoke_token(tid);
  EXPECT_TRUE(repo_->token_by_hash("deadbeef")->revoked);
  BIHUAN_EXPECT_ERROR(repo_->revoke_token(tid + 100), not_found);
  EXPECT_FALSE(repo_->token_by_hash("nope"));
}

AuditRecord audit(std::int64_t at_ms, std::int64_t user, const std::string& action, const std::string& entity,
                  std::int64_t entity_id) {
  AuditRecord r;
  r.at = from_unix_ms(at_ms);
  r.user_id = user;
  r.username = "u" + std::to_string(user);
  r.action = action;
  r.entity = entity;
  r.entity_id = entity_id;
  r.ip = "127.0.0.1";
  r.detail = R"({"k":1})";
  return r;
}

// A batch longer than the multi-row INSERT's chunk (16 rows) and not a multiple of it: every
// record is written, in order, with every field; an invalid record writes none of the batch.
TEST_P(AccountsTest, AuditBatchesOfAnyLengthAreWrittenWholeAndInOrder) {
  std::vector<AuditRecord> batch;
  for (int i = 0; i < 37; ++i) {
    auto r = audit(1000 + i, 1 + i % 3, "person.search", "person", 100 + i);
    r.ip = "10.0.0." + std::to_string(i);
    r.reason = i % 2 ? "核对" : "";
    r.detail = R"({"ids":[)" + std::to_string(100 + i) + "]}";
    batch.push_back(r);
  }
  repo_->append_audit_batch(batch);
  auto all = repo_->find_audit({}, Page{0, 100});
  ASSERT_EQ(all.items.size(), 37u);
  for (int i = 0; i < 37; ++i) {
    const auto& got = all.items[static_cast<std::size_t>(36 - i)];  // newest first
    const auto& want = batch[static_cast<std::size_t>(i)];
    EXPECT_EQ(got.at, want.at) << i;
    EXPECT_EQ(got.user_id, want.user_id) << i;
    EXPECT_EQ(got.username, want.username) << i;
    EXPECT_EQ(got.action, want.action) << i;
    EXPECT_EQ(got.entity, want.entity) << i;
    EXPECT_EQ(got.entity_id, want.entity_id) << i;
    EXPECT_EQ(got.ip, want.ip) << i;
    EXPECT_EQ(got.reason, want.reason) << i;
    EXPECT_EQ(got.detail, want.detail) << i;
  }
  for (std::size_t i = 1; i < all.items.size(); ++i) EXPECT_LT(all.items[i].id, all.items[i - 1].id);

  batch[20].action.clear();
  EXPECT_THROW(repo_->append_audit_batch(batch), Error);
  EXPECT_EQ(repo_->find_audit({}, Page{0, 100}).items.size(), 37u);
}

TEST_P(AccountsTest, AuditAppendFindNewestFirstWithFilters) {
  const auto first = repo_->append_audit(audit(1000, 1, "login", "user", 1));
  repo_->append_audit_batch({audit(2000, 1, "person.read", "person", 10), audit(3000, 2, "person.read", "person", 11),
                             audit(4000, 2, "person.unmask", "person", 10)});
  auto r5 = audit(5000, 1, "person.update", "person", 10);
  r5.reason = "核对信息";
  repo_->append_audit(r5);

  auto all = repo_->find_audit({}, {});
  ASSERT_EQ(all.items.size(), 5u);
  EXPECT_EQ(all.items.front().action, "person.update");
  EXPECT_EQ(all.items.front().reason, "核对信息");
  EXPECT_EQ(all.items.back().id, first);
  EXPECT_EQ(all.items.back().detail, R"({"k":1})");
  EXPECT_EQ(all.next, 0);

  AuditQuery q;
  q.user_id = 2;
  EXPECT_EQ(repo_->find_audit(q, {}).items.size(), 2u);
  q = {};
  q.entity = "person";
  q.entity_id = 10;
  auto p10 = repo_->find_audit(q, {});
  ASSERT_EQ(p10.items.size(), 3u);
  EXPECT_EQ(p10.items[0].at, from_unix_ms(5000));
  EXPECT_EQ(p10.items[2].at, from_unix_ms(2000));
  q = {};
  q.action = "person.read";
  EXPECT_EQ(repo_->find_audit(q, {}).items.size(), 2u);
  q = {};
  q.from = from_unix_ms(2000);
  q.to = from_unix_ms(4000);  // [from, to)
  EXPECT_EQ(repo_->find_audit(q, {}).items.size(), 2u);

  // Newest-first pages.
  auto p1 = repo_->find_audit({}, Page{0, 2});
  ASSERT_EQ(p1.items.size(), 2u);
  EXPECT_NE(p1.next, 0);
  auto p2 = repo_->find_audit({}, Page{p1.next, 2});
  ASSERT_EQ(p2.items.size(), 2u);
  EXPECT_LT(p2.items[0].id, p1.items[1].id);
  auto p3 = repo_->find_audit({}, Page{p2.next, 2});
  EXPECT_EQ(p3.items.size(), 1u);
  EXPECT_EQ(p3.next, 0);

  // A bad record fails the whole batch.
  auto bad = audit(6000, 1, "", "person", 1);
  BIHUAN_EXPECT_ERROR(repo_->append_audit_batch({audit(6000, 1, "x", "y", 1), bad}), invalid_argument);
  EXPECT_EQ(repo_->find_audit({}, {}).items.size(), 5u);
}

TEST_P(AccountsTest, VenuesAndOrgsUpsertFindAndScope) {
  seed_areas(*repo_);
  std::vector<Org> os(2);
  os[0].code = "91110105MA01";
  os[0].name = "朝阳医院";
  os[0].kind = OrgKind::hospital;
  os[0].area_code = "110105001001";
  os[1].code = "91110105MA02";
  os[1].name = "永安检测实验室";
  os[1].kind = OrgKind::lab;
  os[1].area_code = "110105001002";
  auto st = repo_->upsert_orgs(os);
  EXPECT_EQ(st.inserted, 2);
  EXPECT_EQ(repo_->org_by_code("91110105MA02")->kind, OrgKind::lab);
  EXPECT_EQ(repo_->org(os[0].id)->name, "朝阳医院");
  auto copy = os;
  EXPECT_EQ(repo_->upsert_orgs(copy).unchanged, 2);
  EXPECT_EQ(copy[1].id, os[1].id);

  std::vector<Venue> vs(3);
  vs[0] = {0, "V-001", "光华里菜市场", VenueType::market, "110105001001001", "光华路1号", 300, true};
  vs[1] = {0, "V-002", "永安里超市", VenueType::supermarket, "110105001002001", "永安里2号", 120, true};
  vs[2] = {0, "V-003", "朝阳公园", VenueType::other, "110105", "朝阳公园南路", 5000, false};
  st = repo_->upsert_venues(vs);
  EXPECT_EQ(st.inserted, 3);
  vs[0].capacity = 350;
  st = repo_->upsert_venues(vs);
  EXPECT_EQ(st.updated, 1);
  EXPECT_EQ(st.unchanged, 2);

  auto all = repo_->find_venues("", Scope::everything(), {});
  ASSERT_EQ(all.items.size(), 3u);
  EXPECT_EQ(all.items[0].capacity, 350);
  EXPECT_FALSE(all.items[2].enclosed);
  EXPECT_EQ(repo_->find_venues("菜市场", Scope::everything(), {}).items.size(), 1u);
  EXPECT_EQ(repo_->find_venues("V-002", Scope::everything(), {}).items.size(), 1u);
  EXPECT_EQ(repo_->find_venues("永安里", Scope::everything(), {}).items.size(), 1u);
  auto scoped = repo_->find_venues("", Scope::area("110105001001"), {});
  ASSERT_EQ(scoped.items.size(), 1u);
  EXPECT_EQ(scoped.items[0].code, "V-001");
  // Org scope: venues in the org's area.
  auto by_org = repo_->find_venues("", Scope::org(os[1].id), {});
  ASSERT_EQ(by_org.items.size(), 1u);
  EXPECT_EQ(by_org.items[0].code, "V-002");

  EXPECT_EQ(repo_->find_orgs("", OrgKind::lab, Scope::everything(), {}).items.size(), 1u);
  EXPECT_EQ(repo_->find_orgs("医院", std::nullopt, Scope::everything(), {}).items.size(), 1u);
  EXPECT_EQ(repo_->find_orgs("", std::nullopt, Scope::area("110105001002"), {}).items.size(), 1u);
  auto own = repo_->find_orgs("", std::nullopt, Scope::org(os[0].id), {});
  ASSERT_EQ(own.items.size(), 1u);
  EXPECT_EQ(own.items[0].id, os[0].id);
  auto page = repo_->find_orgs("", std::nullopt, Scope::everything(), Page{0, 1});
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.next, os[0].id);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace bihuan::store::testing
