#pragma once
// Choosing the pool size (混采比例) for two-stage (Dorfman) pooled testing: every pool of k
// samples is tested once; the members of a positive pool are re-tested one by one.
//
// Model (specificity 1, sensitivity S the same for a pool and a single tube, people positive
// independently with probability P):
// - ratio 1 (单管): 1 test per person; a positive is missed when the test misses it: 1 - S.
// - ratio k > 1: one pool test per k people, plus k re-tests when the pool comes back positive.
//   A pool is positive only if it holds a positive sample and the test detects it:
//   P(pool positive) = S * (1 - (1 - P)^k), so tests per person = 1/k + S * (1 - (1 - P)^k).
//   A positive is found only if the pool test AND its single-tube re-test detect it: missed
//   fraction 1 - S^2.
// With S = 1 this is Dorfman's formula, 1/k + 1 - (1 - P)^k (R. Dorfman, "The detection of
// defective members of large populations", Ann. Math. Statist. 14(4):436-440, 1943); with an
// imperfect test and specificity 1 it is the Dorfman case of Kim, Hudgens et al., "Comparison of
// group testing algorithms for case identification in the presence of test error", Biometrics
// 63:1152-1163, 2007 (1/k + Se - (Se + Sp - 1)(1 - P)^k with Sp = 1; pooling sensitivity Se^2).
// Reviewed in Malinovsky and Albert, "Revisiting nested group testing procedures", Am. Stat.
// 73(2):117-125, 2019 (https://pmc.ncbi.nlm.nih.gov/articles/PMC6896989). For small P the best k
// is close to 1/sqrt(P) + 1 (P = 1 %: k = 11, 0.1956 tests per person).
#include <string>
#include <vector>

namespace bihuan::pooling {

struct PoolAdvice {
  double prevalence = 0;
  double sensitivity = 1;
  struct Ratio {
    int ratio = 1;
    double tests_per_person = 1;
    double missed_per_1000_positives = 0;
  };
  std::vector<Ratio> ratios;  // in the order given
  int recommended_ratio = 1;
};

// Largest pool ratio accepted.
inline constexpr int kMaxRatio = 100;
// Two ratios whose expected tests per person differ by less than this fraction of the larger
// are a tie, and the smaller ratio wins: the difference is rounding, not a saving, and a
// smaller pool dilutes less and needs fewer re-tests when it is positive.
inline constexpr double kTieRelativeEpsilon = 1e-9;

// The ratios 1, 5, 10 and 20 that samplers use (the tube sizes).
std::vector<int> default_ratios();

// Expected tests per person and missed positives per 1,000 for each ratio; the recommended
// ratio has the fewest expected tests per person (ties: the smaller ratio). Throws
// Error(invalid_argument) naming the field ("prevalence", "sensitivity", "ratios") when the
// prevalence is outside [0, 1], the sensitivity outside (0, 1], the list empty, a ratio not in
// 1..kMaxRatio or repeated.
PoolAdvice advise_pooling(double prevalence, std::vector<int> ratios, double sensitivity = 1.0);

// Parses "1,5,10,20" (spaces allowed). Throws Error(invalid_argument, field "ratios") on
// anything but positive integers in 1..kMaxRatio, each once.
std::vector<int> parse_ratios(const std::string& text);

}  // namespace bihuan::pooling
