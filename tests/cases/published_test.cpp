// Published transmission chains loaded as cases and links (src/cases/published.hpp) on SQLite
// and, when BIHUAN_TEST_PG is set, PostgreSQL: Du et al. 2020's 468 pairs come out of the chain
// statistics with the published serial interval; bad files name their lines and fields and
// write nothing; an area outside the caller's is refused like an unknown one.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cases/published.hpp"
#include "cases/service.hpp"
#include "core/error.hpp"
#include "loop/backend.hpp"
#include "loop/service.hpp"
#include "store/repository.hpp"

namespace bihuan::casetest {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string du2020() {
  return read_file(std::string(BIHUAN_SOURCE_DIR) +
                   "/tests/data/transmission_chains/du2020_TableS5_468_transmission_pairs_China.csv");
}

// The message of the Error `fn` throws ("" when it throws none).
template <class F>
std::string error_of(F&& fn, std::string* field = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (field) *field = e.field();
    return e.what();
  }
  return "";
}

class PublishedChains : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<looptest::TestBackend>(GetParam());
    if (!db_->skip.empty()) GTEST_SKIP() << db_->skip;
    repo_ = store::open_repository(db_->url);
    repo_->upsert_areas(looptest::two_districts());
    investigator_.role = Role::investigator;
    investigator_.scope = Scope::area("110105");
    investigator_.user_id = 2;
    investigator_.username = "cdc";
    other_ = investigator_;
    other_.scope = Scope::area("110106");
    other_.user_id = 3;
    loop_ = std::make_unique<loop::Service>(*repo_, profiles_, clock_);
    svc_ = std::make_unique<cases::Service>(*repo_, *loop_, nullptr, clock_, cases::Settings{});
  }
  std::int64_t persons() { return repo_->count_persons(Scope::everything()); }

  loop::Profiles profiles_{std::string(BIHUAN_SOURCE_DIR) + "/policies"};
  ManualClock clock_{*parse_instant("2022-04-04T01:00:00Z")};
  std::unique_ptr<looptest::TestBackend> db_;
  std::unique_ptr<store::Repository> repo_;
  std::unique_ptr<loop::Service> loop_;
  std::unique_ptr<cases::Service> svc_;
  Caller investigator_, other_;
};

TEST_P(PublishedChains, Du2020PairsBecomeCasesAndGiveThePublishedSerialInterval) {
  const auto chains = cases::parse_published("du2020", du2020());
  EXPECT_EQ(chains.links.size(), 468u);
  EXPECT_EQ(chains.cases.size(), 752u);
  std::vector<double> seen;
  auto rep = cases::import_published(*repo_, chains, "110105001001001", investigator_, clock_.now(),
                                     [&](double f) { seen.push_back(f); });
  EXPECT_EQ(rep.persons, 752);
  EXPECT_EQ(rep.cases, 752);
  EXPECT_EQ(rep.links, 468);
  EXPECT_EQ(rep.serial_interval.n, 468);
  EXPECT_NEAR(rep.serial_interval.mean, 3.96, 0.005);
  EXPECT_NEAR(rep.serial_interval.sd, 4.75, 0.005);
  ASSERT_FALSE(seen.empty());
  EXPECT_DOUBLE_EQ(seen.back(), 1.0);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LE(seen[i - 1], seen[i]);

  // The platform's chain statistics on the imported cases give the same figures.
  auto view = svc_->chains(investigator_);
  EXPECT_EQ(view.nodes.size(), 752u);
  EXPECT_EQ(view.links.size(), 468u);
  EXPECT_EQ(view.serial_interval.n, 468);
  EXPECT_NEAR(view.serial_interval.mean, 3.96, 0.005);
  EXPECT_NEAR(view.serial_interval.sd, 4.75, 0.005);
  EXPECT_NEAR(view.serial_interval.negative_share, 0.126, 0.0005);
  EXPECT_EQ(static_cast<std::int64_t>(view.clusters.size()), rep.clusters);
  // Offspring: every link is one infectee of its infector.
  std::int64_t infected = 0, cases_counted = 0;
  for (const auto& [k, n] : view.offspring) {
    infected += k * n;
    cases_counted += n;
  }
  EXPECT_EQ(infected, 468);
  EXPECT_EQ(cases_counted, 752);
  // The first pair: index 23 (onset day 16) infected 26 (day 20) in Tianjin.
  auto p23 = repo_->person_by_doc("DU2020-23", Scope::everything());
  auto p26 = repo_->person_by_doc("DU2020-26", Scope::everything());
  ASSERT_TRUE(p23 && p26);
  std::int64_t case23 = 0, case26 = 0;
  for (const auto& n : view.nodes) {
    if (n.rec.person_id == p23->id) case23 = n.rec.id;
    if (n.rec.person_id == p26->id) case26 = n.rec.id;
    EXPECT_EQ(n.rec.status, "closed");
    EXPECT_EQ(n.rec.source, "published");
  }
  bool found = false;
  for (const auto& l : view.links) {
    if (l.infector_case_id == case23 && l.infectee_case_id == case26) {
      found = true;
      EXPECT_NE(l.evidence.find("event 1: Tianjin"), std::string::npos) << l.evidence;
    }
  }
  EXPECT_TRUE(found);
  for (const auto& n : view.nodes) {
    if (n.rec.id == case26) {
      EXPECT_EQ(n.rec.onset_date, "2020-01-21");
    }
  }

  // Another district sees none of it; importing the same file again writes nothing.
  EXPECT_TRUE(svc_->chains(other_).nodes.empty());
  const auto before = persons();
  std::string field;
  const auto msg = error_of([&] { cases::import_published(*repo_, chains, "110105001001001", investigator_, clock_.now()); },
                            &field);
  EXPECT_NE(msg.find("case 23 of du2020 is imported already"), std::string::npos) << msg;
  EXPECT_EQ(field, "case");
  EXPECT_EQ(persons(), before);
  EXPECT_EQ(svc_->chains(investigator_).links.size(), 468u);
}

TEST_P(PublishedChains, BadFilesNameTheirLinesAndFieldsAndWriteNothing) {
  std::string field;
  auto msg = error_of([] { cases::parse_published("pairs", "infector,infectee,infector_onset,infectee_onset\n"
                                                           "A,B,2020-01-01,2020-01-05\n"
                                                           "B,C,2020-01-05,2020-13-01\n"
                                                           "C,D,2020-01-09,\n"); },
                      &field);
  EXPECT_NE(msg.find("line 3, field infectee_onset: not a date YYYY-MM-DD: '2020-13-01'"), std::string::npos) << msg;
  EXPECT_EQ(field, "infectee_onset");
  msg = error_of([] { cases::parse_published("pairs", "infector,infectee,infector_onset,infectee_onset\n"
                                                      "A,B,2020-01-01,2020-01-05\n"
                                                      "B,C,2020-01-05,2020-01-08\n"
                                                      "C,A,2020-01-08,2020-01-01\n"); });
  EXPECT_NE(msg.find("line 4, field infectee: case C -> A would make a cycle"), std::string::npos) << msg;
  msg = error_of([] { cases::parse_published("pairs", "infector,infectee,infector_onset,infectee_onset\n"
                                                      "A,B,2020-01-01,2020-01-05\n"
                                                      "C,B,2020-01-02,2020-01-05\n"
                                                      "B,D,2020-01-06,\n"); });
  EXPECT_NE(msg.find("line 3, field infectee: case B already has infector A (line 2)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 4, field infector_onset: case B has onset 2020-01-06 here but 2020-01-05 on line 2"),
            std::string::npos)
      << msg;
  msg = error_of([] { cases::parse_published("pairs", "infector,infectee\nA,B\n"); }, &field);
  EXPECT_NE(msg.find("line 1, field infector_onset: column missing from the header"), std::string::npos) << msg;
  // Du et al.'s layout: a wrong day number names the row and the column.
  std::string du = du2020();
  const auto row = du.find("\n1.0,23.0,26.0,Tianjin,Tianjin,Tianjin,16.0,");
  ASSERT_NE(row, std::string::npos);
  du.replace(du.find("16.0", row), 4, "16.5");
  msg = error_of([&] { cases::parse_published("du2020", du); }, &field);
  EXPECT_NE(msg.find("line 3, field Index - symptom onset date: not a whole number: '16.5'"), std::string::npos) << msg;
  EXPECT_EQ(field, "Index - symptom onset date");
  msg = error_of([] { cases::parse_published("du2020", "a,b,c\n1,2,3\n"); });
  EXPECT_NE(msg.find("field header"), std::string::npos) << msg;
  msg = error_of([] { cases::parse_published("tianjin", "x"); }, &field);
  EXPECT_EQ(field, "format");

  // An area outside the caller's answers like an unknown area; nothing is written.
  const auto chains = cases::parse_published("pairs", "infector,infectee,infector_onset,infectee_onset\n"
                                                      "A,B,2020-01-01,2020-01-05\n");
  const auto before = persons();
  const auto outside = error_of([&] { cases::import_published(*repo_, chains, "110105001001001", other_, clock_.now()); });
  const auto unknown = error_of([&] { cases::import_published(*repo_, chains, "110199", other_, clock_.now()); });
  EXPECT_EQ(outside, "no such area: 110105001001001");
  EXPECT_EQ(unknown, "no such area: 110199");
  Caller grid_worker = investigator_;
  grid_worker.role = Role::grid_worker;
  EXPECT_NE(error_of([&] { cases::import_published(*repo_, chains, "110105001001001", grid_worker, clock_.now()); }), "");
  EXPECT_EQ(persons(), before);
  // The same pairs in the caller's own area import.
  auto rep = cases::import_published(*repo_, chains, "110105001001001", investigator_, clock_.now());
  EXPECT_EQ(rep.cases, 2);
  EXPECT_EQ(rep.links, 1);
  EXPECT_EQ(rep.serial_interval.n, 1);
  EXPECT_DOUBLE_EQ(rep.serial_interval.mean, 4.0);
  EXPECT_EQ(persons(), before + 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, PublishedChains, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace bihuan::casetest
