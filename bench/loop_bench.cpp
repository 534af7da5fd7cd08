// Closed-loop management at scale (SQLite):
//  1. planning + import of an arrival manifest of BIHUAN_BENCH_MANIFEST persons (default 100,000):
//     persons/s, all in one transaction (persons upserted, one inbound order each, deadlines);
//  2. the lost-from-loop watcher with BIHUAN_BENCH_ORDERS active orders (comma list, default
//     "10000,100000"): the one-time load, the cost of a steady-state minute (12 passes, nothing
//     due), the time from a handover deadline passing to its alert (one pass), and the cost per
//     deadline when 1,000 fall due at once.
// Prints a table; see bench/RESULTS.md for the command and numbers.
#include <ctime>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "core/error.hpp"
#include "loop/service.hpp"
#include "loop/watcher.hpp"
#include "store/repository.hpp"

namespace {

using namespace bihuan;
using Clk = std::chrono::steady_clock;

double secs(Clk::duration d) { return std::chrono::duration<double>(d).count(); }
double cpu_now() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

std::string manifest(long n, long offset) {
  std::ostringstream s;
  s << "证件类型,证件号码,国籍,姓名,性别,出生日期,座位号\n";
  for (long i = 0; i < n; ++i)
    s << "护照,P" << (10000000 + offset + i) << ",USA,Traveller " << i << "," << (i % 2 ? "男" : "女") << ",1980-01-"
      << (10 + i % 18) << "," << (i % 60) << "A\n";
  return s.str();
}

std::int64_t seed_port(store::Repository& repo) {
  std::vector<Org> orgs(2);
  orgs[0].code = "PORT";
  orgs[0].name = "口岸";
  orgs[0].kind = OrgKind::port;
  orgs[1].code = "TRANSFER";
  orgs[1].name = "转运";
  orgs[1].kind = OrgKind::transfer_team;
  repo.upsert_orgs(orgs);
  return orgs[0].id;
}

}  // namespace

int main() {
  try {
    const std::string policies = std::string(BIHUAN_SOURCE_DIR) + "/policies";
    loop::Profiles profiles(policies);
    // A clock in the middle of the night (local), so no check slot falls due during the runs.
    ManualClock clock(*parse_instant("2022-07-01T18:00:00Z"));
    const Instant arrival = *parse_instant("2022-07-01T17:00:00Z");
    Caller actor = Caller::local("bench");

    // ---- 1. manifest import
    {
      const long n = bench::env_long("BIHUAN_BENCH_MANIFEST", 100000);
      const std::string path = bench::scratch_db("loop-manifest");
      auto repo = store::open_repository("sqlite:" + path);
      const auto port = seed_port(*repo);
      loop::Service svc(*repo, profiles, clock);
      const std::string csv = manifest(n, 0);
      auto t0 = Clk::now();
      auto rep = svc.import_manifest(csv, {"flight", "CA981", arrival, port}, actor);
      const double s = secs(Clk::now() - t0);
      std::cout << "manifest import: " << rep.created_orders << " persons + orders in " << s << " s = "
                << static_cast<long>(static_cast<double>(rep.created_orders) / s) << " persons/s (rejected "
                << rep.rejected << ")\n";
      bench::remove_db(path);
    }

    // ---- 2. watcher
    std::vector<long> sizes;
    {
      const char* env = std::getenv("BIHUAN_BENCH_ORDERS");
      std::stringstream ss(env && *env ? env : "10000,100000");
      for (std::string tok; std::getline(ss, tok, ',');) sizes.push_back(std::stol(tok));
    }
    std::cout << "\n| active orders | pending deadlines | load s | steady minute (12 passes) CPU ms | deadline -> alert ms | per due deadline ms |\n"
              << "|---:|---:|---:|---:|---:|---:|\n";
    for (long n : sizes) {
      const std::string path = bench::scratch_db("loop-watch");
      auto repo = store::open_repository("sqlite:" + path);
      const auto port = seed_port(*repo);
      const auto transfer = repo->org_by_code("TRANSFER")->id;
      clock.set(*parse_instant("2022-07-01T18:00:00Z"));
      {
        loop::Service svc(*repo, profiles, clock);
        for (long done = 0; done < n; done += 100000) {
          const long k = std::min(100000L, n - done);
          svc.import_manifest(manifest(k, done), {"flight", std::to_string(done), arrival, port}, actor);
        }
      }
      loop::Watcher w(store::open_repository("sqlite:" + path), profiles, clock);
      auto t0 = Clk::now();
      w.load();
      const double load_s = secs(Clk::now() - t0);
      const std::size_t pending = w.pending();
      loop::Service svc(*repo, profiles, clock, &w);

      // A steady minute: a pass every 5 s, nothing falls due.
      double c0 = cpu_now();
      for (int i = 0; i < 12; ++i) {
        clock.advance(std::chrono::seconds(5));
        w.tick(clock.now());
      }
      const double minute_ms = (cpu_now() - c0) * 1000;

      // One handover whose deadline passes: the pass that raises its alert.
      auto first = svc.loop().active_orders_after(0, 1).front();
      svc.send_handover(first.order.id, loop::Stage::transfer, loop::Owner::org(transfer), "", "", actor);
      clock.advance(std::chrono::hours(2));
      t0 = Clk::now();
      auto r = w.tick(clock.now());
      const double raise_ms = secs(Clk::now() - t0) * 1000;
      if (r.raised.size() != 1) std::cerr << "expected one alert, got " << r.raised.size() << "\n";

      // 1,000 handovers falling due at once.
      auto batch = svc.loop().active_orders_after(first.order.id, 1000);
      for (const auto& o : batch)
        svc.send_handover(o.order.id, loop::Stage::transfer, loop::Owner::org(transfer), "", "", actor);
      clock.advance(std::chrono::hours(2));
      t0 = Clk::now();
      auto many = w.tick(clock.now());
      const double per_ms = secs(Clk::now() - t0) * 1000 / static_cast<double>(std::max<std::size_t>(1, many.popped));
      std::cout << "| " << n << " | " << pending << " | " << load_s << " | " << minute_ms << " | " << raise_ms << " | "
                << per_ms << " |\n";
      bench::remove_db(path);
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
