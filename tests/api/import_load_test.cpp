// A 300,000-row import through the API while a colleague keeps working: reads of a person (as a
// grid worker), logins and polls of the job all answer 200 while the job is running. No timing
// is asserted here; bench/import-read-latency.sh records the latencies (bench/RESULTS.md).
#include <atomic>
#include <thread>

#include "support.hpp"

namespace bihuan::testing {
namespace {

class ImportLoad : public SeededServer {
 protected:
  void options(api::ServerOptions& o) override {
    o.io_threads = 2;
    o.db_threads = 3;
  }
};

// 300,000 distinct valid resident IDs of county 110105: 300 birth days x 1,000 sequence numbers.
std::string big_csv(std::size_t rows) {
  std::string csv = "证件号码,姓名,网格编码,手机号\n";
  csv.reserve(rows * 64);
  const std::chrono::sys_days first{std::chrono::year{1960} / 1 / 1};
  for (std::size_t i = 0; i < rows; ++i) {
    const std::chrono::year_month_day d{first + std::chrono::days(static_cast<int>(i / 1000))};
    char birth[32];
    std::snprintf(birth, sizeof birth, "%04d%02u%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()));
    char seq[24];
    std::snprintf(seq, sizeof seq, "%03zu", i % 1000);
    const std::string first17 = std::string("110105") + birth + seq;
    char phone[32];
    std::snprintf(phone, sizeof phone, "139%08zu", i);
    csv += first17 + resident_id_check_char(first17) + ",导入" + std::to_string(i) + "," +
           (i % 2 ? World::kGridA : World::kGridB) + "," + phone + "\n";
  }
  return csv;
}

TEST_F(ImportLoad, ReadsLoginsAndJobPollsAnswerWhileThreeHundredThousandRowsImport) {
  constexpr std::size_t kRows = 300'000;
  const std::string csv = big_csv(kRows);
  Client admin = login(server_->port(), "admin");
  Client grid = login(server_->port(), "grid_a");
  auto accepted = admin.request(http::verb::post, "/api/import/persons?file_name=city.csv", csv, "text/csv");
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const std::string job = "/api/jobs/" + std::to_string(accepted.j()["job_id"].get<std::int64_t>());

  int rounds = 0, rounds_while_running = 0, failures = 0;
  std::string first_failure;
  json last;
  for (;;) {
    // One round of a colleague's work, bracketed by two looks at the job.
    const json before = admin.get(job).j();
    auto person = grid.get("/api/persons/" + std::to_string(world_.person_a));
    Client someone(server_->port());
    auto logged_in = someone.post("/api/auth/login", json{{"username", "grid_b"}, {"password", World::kPassword}}.dump());
    auto poll = admin.get(job);
    ++rounds;
    for (const auto* r : {&person, &logged_in, &poll})
      if (r->status != 200) {
        if (failures++ == 0) first_failure = std::to_string(r->status) + " " + r->body;
      }
    if (poll.status != 200) break;
    last = poll.j();
    auto running = [](const json& j) {
      const double p = j["progress"].get<double>();
      return j["status"] == "running" && p > 0.0 && p < 1.0;
    };
    if (running(before) && running(last)) ++rounds_while_running;
    if (last["status"] == "done" || last["status"] == "failed") break;
  }
  EXPECT_EQ(failures, 0) << first_failure;
  EXPECT_GE(rounds_while_running, 1) << "no round of reads completed while the job was running (" << rounds
                                     << " rounds)";
  ASSERT_EQ(last["status"], "done") << last.dump();
  const json& report = last["report"];
  EXPECT_EQ(report["committed"], true);
  EXPECT_EQ(report["total_rows"], static_cast<std::int64_t>(kRows));
  EXPECT_EQ(report["inserted"], static_cast<std::int64_t>(kRows));
  EXPECT_EQ(report["rejected"], 0);
  // The imported people are there, and the reads were audited meanwhile.
  auto found = admin.get("/api/persons?name=" + std::string("导入299999"));
  ASSERT_EQ(found.status, 200);
  EXPECT_EQ(found.j()["items"].size(), 1u);
  auto repo = store::open_repository(url_);
  store::AuditQuery q;
  q.action = "person.read";
  q.user_id = world_.user_ids["grid_a"];
  EXPECT_EQ(static_cast<int>(repo->find_audit(q, store::Page{0, 1000}).items.size()), std::min(rounds, 1000));
}

}  // namespace
}  // namespace bihuan::testing
