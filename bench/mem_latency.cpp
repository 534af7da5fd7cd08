// Memory latency of this machine: a random pointer chase over N MiB (one slot per cache line),
// nanoseconds per dependent load, with the region advised to transparent huge pages (h) or not (4).
// Random reads across gigabytes are what the contact-finding index does (bench/RESULTS.md).
// Usage: bench/mem-latency.sh [MIB...], or build/release/bench/mem_latency MIB [h|4]
#include <sys/mman.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <random>
#include <vector>
int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: mem_latency MIB [h|4]\n");
    return 2;
  }
  const std::size_t bytes = std::strtoull(argv[1], nullptr, 10) << 20;
  const bool huge = argc > 2 && argv[2][0] == 'h';
  const std::size_t n = bytes / 64;  // one slot per cache line
  void* p = std::aligned_alloc(2 << 20, bytes);
  if (huge) madvise(p, bytes, MADV_HUGEPAGE); else madvise(p, bytes, MADV_NOHUGEPAGE);
  auto* a = static_cast<std::uint64_t*>(p);
  std::vector<std::uint32_t> perm(n);
  for (std::size_t i = 0; i < n; ++i) perm[i] = static_cast<std::uint32_t>(i);
  std::mt19937_64 rng(1);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng() % (i + 1)]);
  for (std::size_t i = 0; i < n; ++i) a[perm[i] * 8] = perm[(i + 1) % n] * 8ull;
  std::uint64_t x = 0;
  const std::size_t steps = 20'000'000;
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < steps; ++i) x = a[x];
  auto t1 = std::chrono::steady_clock::now();
  std::printf("%zu MiB %s: %.1f ns per load (x=%llu)\n", bytes >> 20, huge ? "huge" : "4k",
              std::chrono::duration<double, std::nano>(t1 - t0).count() / steps, static_cast<unsigned long long>(x));
}
