#include "core/epi.hpp"

#include <algorithm>
#include <boost/math/distributions/gamma.hpp>
#include <boost/math/distributions/normal.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.hpp"

namespace bihuan::epi {

namespace {

[[noreturn]] void bad(std::string message, std::string field) {
  fail(ErrorCode::invalid_argument, std::move(message), std::move(field));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = line.find(',', start);
    out.push_back(trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// Lines of a text (BOM stripped, "\r\n" or "\n"), each with its 1-based number; blank lines skipped.
struct Line {
  int number;
  std::string_view text;
};
std::vector<Line> lines_of(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<Line> out;
  int n = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto nl = text.find('\n', start);
    const auto line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    ++n;
    if (!trim(line).empty()) out.push_back({n, line});
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string tmp(s);
  char* end = nullptr;
  const double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string at_line(std::string_view what, int line) { return std::string(what) + " line " + std::to_string(line) + ": "; }

// The gamma distribution's CDF, 0 at and below 0 (R's pgamma for negative arguments).
double gamma_cdf(double x, double shape, double scale) {
  if (x <= 0) return 0;
  return boost::math::cdf(boost::math::gamma_distribution<double>(shape, scale), x);
}

double quantile_of_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const double h = (static_cast<double>(v.size()) - 1) * q;
  const auto i = static_cast<std::size_t>(std::floor(h));
  if (i + 1 >= v.size()) return v.back();
  return v[i] + (h - static_cast<double>(i)) * (v[i + 1] - v[i]);
}

}  // namespace

// ---------------------------------------------------------------- files

DailyCounts parse_daily_counts(std::string_view csv, std::string_view what) {
  const auto lines = lines_of(csv);
  if (lines.empty()) bad(std::string(what) + ": the file is empty (expected a header `date,cases`)", "date");
  const auto header = split_fields(lines[0].text);
  int date_col = -1, cases_col = -1;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const auto h = lower(header[i]);
    if (h == "date" && date_col < 0) date_col = static_cast<int>(i);
    if (h == "cases" && cases_col < 0) cases_col = static_cast<int>(i);
  }
  if (date_col < 0) bad(at_line(what, lines[0].number) + "the header has no column `date`", "date");
  if (cases_col < 0) bad(at_line(what, lines[0].number) + "the header has no column `cases`", "cases");
  if (lines.size() < 2) bad(std::string(what) + ": no data rows after the header", "date");
  DailyCounts out;
  std::optional<Date> prev;
  for (std::size_t k = 1; k < lines.size(); ++k) {
    const auto& ln = lines[k];
    const auto f = split_fields(ln.text);
    if (f.size() != header.size())
      bad(at_line(what, ln.number) + std::to_string(f.size()) + " fields, the header has " +
              std::to_string(header.size()),
          f.size() <= static_cast<std::size_t>(std::max(date_col, cases_col))
              ? (f.size() <= static_cast<std::size_t>(date_col) ? "date" : "cases")
              : "cases");
    const auto d = parse_date(f[static_cast<std::size_t>(date_col)]);
    if (!d)
      bad(at_line(what, ln.number) + "date '" + std::string(f[static_cast<std::size_t>(date_col)]) +
              "' is not a calendar date YYYY-MM-DD",
          "date");
    const auto c = parse_int(f[static_cast<std::size_t>(cases_col)]);
    if (!c)
      bad(at_line(what, ln.number) + "cases '" + std::string(f[static_cast<std::size_t>(cases_col)]) +
              "' is not a whole number",
          "cases");
    if (*c < 0) bad(at_line(what, ln.number) + "cases " + std::to_string(*c) + " is negative", "cases");
    if (prev) {
      const auto want = std::chrono::sys_days(*prev) + std::chrono::days(1);
      if (std::chrono::sys_days(*d) != want) {
        if (std::chrono::sys_days(*d) <= std::chrono::sys_days(*prev))
          bad(at_line(what, ln.number) + "date " + format_date(*d) + " is not after the previous row's " +
                  format_date(*prev) + " (dates must ascend, one row per day)",
              "date");
        bad(at_line(what, ln.number) + "date " + format_date(*d) + " leaves a gap after " + format_date(*prev) +
                " (missing " + format_date(Date(want)) + "; write days without cases as 0)",
            "date");
      }
    } else {
      out.first = *d;
    }
    prev = d;
    out.counts.push_back(*c);
  }
  return out;
}

std::vector<double> parse_si_distribution(std::string_view csv) {
  const auto lines = lines_of(csv);
  const std::string what = "serial interval";
  if (lines.empty()) bad(what + ": the file is empty", "si_distr");
  std::size_t first = 0;
  // A header is a first line whose last field is not a number.
  if (!parse_double(split_fields(lines[0].text).back())) first = 1;
  std::vector<double> w;
  for (std::size_t k = first; k < lines.size(); ++k) {
    const auto f = split_fields(lines[k].text);
    if (f.size() > 2) bad(at_line(what, lines[k].number) + "expected `k,p` or one probability", "si_distr");
    if (f.size() == 2) {
      const auto day = parse_int(f[0]);
      if (!day || *day != static_cast<std::int64_t>(w.size()))
        bad(at_line(what, lines[k].number) + "day '" + std::string(f[0]) + "' should be " + std::to_string(w.size()),
            "si_distr");
    }
    const auto p = parse_double(f.back());
    if (!p) bad(at_line(what, lines[k].number) + "'" + std::string(f.back()) + "' is not a number", "si_distr");
    w.push_back(*p);
  }
  check_si_distribution(w);
  return w;
}

// ---------------------------------------------------------------- serial interval

std::vector<double> discretise_si(int n, double mean, double sd) {
  if (!std::isfinite(mean) || mean <= 1) bad("the serial interval's mean must be above 1 day", "si_mean");
  if (!std::isfinite(sd) || sd <= 0) bad("the serial interval's sd must be positive", "si_sd");
  if (n < 1) bad("the serial interval needs at least one day", "si_mean");
  const double a = std::pow((mean - 1) / sd, 2);
  const double b = sd * sd / (mean - 1);
  std::vector<double> w(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double k = i;
    double v = k * gamma_cdf(k, a, b) + (k - 2) * gamma_cdf(k - 2, a, b) - 2 * (k - 1) * gamma_cdf(k - 1, a, b);
    v += a * b * (2 * gamma_cdf(k - 1, a + 1, b) - gamma_cdf(k - 2, a + 1, b) - gamma_cdf(k, a + 1, b));
    w[static_cast<std::size_t>(i)] = std::max(0.0, v);
  }
  return w;
}

void check_si_distribution(const std::vector<double>& w) {
  if (w.empty()) bad("the serial-interval distribution is empty", "si_distr");
  if (w[0] != 0) bad("the serial-interval distribution must give 0 to day 0 (p[0] = 0)", "si_distr");
  double sum = 0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    if (!std::isfinite(w[k]) || w[k] < 0)
      bad("the serial-interval probability of day " + std::to_string(k) + " is negative", "si_distr");
    sum += w[k];
  }
  if (std::abs(sum - 1) > 0.01)
    bad("the serial-interval distribution sums to " + std::to_string(sum) + ", not 1", "si_distr");
}

// ---------------------------------------------------------------- Rt

std::vector<TimeWindow> sliding_windows(int days, int length) {
  if (length < 1) bad("the window must be at least 1 day", "window");
  std::vector<TimeWindow> out;
  for (int s = 2; s + length - 1 <= days; ++s) out.push_back({s, s + length - 1});
  return out;
}

namespace {

// `check_sum`: a distribution given as such must sum to 1; a parametric one discretised over
// 0..T-1 may hold less when T is short (EpiEstim only warns there) and is used as it is.
std::vector<RtEstimate> rt_posterior(const std::vector<std::int64_t>& local_in,
                                     const std::vector<std::int64_t>& imported_in, const std::vector<double>& si_in,
                                     const std::vector<TimeWindow>& windows, const RtConfig& config, bool check_sum) {
  const auto T = static_cast<int>(local_in.size());
  if (T < 2) bad("the incidence needs at least 2 days", "incidence");
  if (!imported_in.empty() && imported_in.size() != local_in.size())
    bad("the imported incidence must cover the same days as the local incidence", "imported");
  if (!(config.prior_mean > 0) || !(config.prior_sd > 0)) bad("the prior's mean and sd must be positive", "prior");
  if (check_sum) check_si_distribution(si_in);
  std::vector<double> local(local_in.begin(), local_in.end());
  std::vector<double> imported(static_cast<std::size_t>(T), 0.0);
  for (int t = 0; t < T; ++t) {
    if (local_in[static_cast<std::size_t>(t)] < 0 || (!imported_in.empty() && imported_in[static_cast<std::size_t>(t)] < 0))
      bad("day " + std::to_string(t + 1) + " has a negative count", "incidence");
    if (!imported_in.empty()) imported[static_cast<std::size_t>(t)] = static_cast<double>(imported_in[static_cast<std::size_t>(t)]);
  }
  // Every case of day 1 counts as imported (EpiEstim's process_I).
  imported[0] += local[0];
  local[0] = 0;
  // The SI padded with zeros to T + 1 values; its mean over the whole (padded) vector.
  std::vector<double> w = si_in;
  if (w.size() < static_cast<std::size_t>(T) + 1) w.resize(static_cast<std::size_t>(T) + 1, 0.0);
  double si_mean = 0;
  for (std::size_t k = 0; k < w.size(); ++k) si_mean += static_cast<double>(k) * w[k];
  // Lambda_t = sum_{k=0}^{t-1} w_k I_{t-k}, t = 2..T (1-based), I = local + imported.
  std::vector<double> lambda(static_cast<std::size_t>(T) + 1, 0.0);
  for (int t = 2; t <= T; ++t) {
    double s = 0;
    for (int k = 0; k < t; ++k) {
      const auto day = static_cast<std::size_t>(t - k - 1);
      s += w[static_cast<std::size_t>(k)] * (local[day] + imported[day]);
    }
    lambda[static_cast<std::size_t>(t)] = s;
  }
  const double a_prior = std::pow(config.prior_mean / config.prior_sd, 2);
  const double b_prior = config.prior_sd * config.prior_sd / config.prior_mean;
  const double min_cases = std::ceil(1 / (config.cv_posterior * config.cv_posterior) - a_prior);
  std::vector<RtEstimate> out;
  out.reserve(windows.size());
  for (const auto& win : windows) {
    if (win.t_start < 2 || win.t_end > T || win.t_start > win.t_end)
      bad("window " + std::to_string(win.t_start) + ".." + std::to_string(win.t_end) +
              " must lie within days 2.." + std::to_string(T) + " and start before it ends",
          "window");
    RtEstimate e;
    e.t_start = win.t_start;
    e.t_end = win.t_end;
    double local_sum = 0, all_sum = 0, lambda_sum = 0;
    for (int t = win.t_start; t <= win.t_end; ++t) {
      const auto i = static_cast<std::size_t>(t - 1);
      local_sum += local[i];
      all_sum += local[i] + imported[i];
      lambda_sum += lambda[static_cast<std::size_t>(t)];
    }
    e.local_cases = static_cast<std::int64_t>(local_sum);
    e.all_cases = static_cast<std::int64_t>(all_sum);
    e.infectivity = lambda_sum;
    if (!(static_cast<double>(win.t_end) > si_mean)) {
      e.warning = "too_early";
      e.reason = "the window ends on day " + std::to_string(win.t_end) + ", not after the mean serial interval (" +
                 std::to_string(si_mean) + " days): no estimate";
      out.push_back(std::move(e));
      continue;
    }
    const double shape = a_prior + local_sum;
    const double scale = 1 / (1 / b_prior + lambda_sum);
    e.shape = shape;
    e.scale = scale;
    const boost::math::gamma_distribution<double> g(shape, scale);
    e.mean = shape * scale;
    e.sd = std::sqrt(shape) * scale;
    e.q025 = boost::math::quantile(g, 0.025);
    e.q05 = boost::math::quantile(g, 0.05);
    e.q25 = boost::math::quantile(g, 0.25);
    e.median = boost::math::quantile(g, 0.5);
    e.q75 = boost::math::quantile(g, 0.75);
    e.q95 = boost::math::quantile(g, 0.95);
    e.q975 = boost::math::quantile(g, 0.975);
    if (lambda_sum <= 0) {
      e.warning = "no_infectivity";
      e.reason = "no earlier case can have infected this window's cases: the estimate is the prior";
    } else if (all_sum < min_cases) {
      e.warning = "few_cases";
      e.reason = std::to_string(e.all_cases) + " cases in the window, fewer than the " +
                 std::to_string(static_cast<int>(min_cases)) + " that give a posterior CV of " +
                 std::to_string(config.cv_posterior) + ": read the interval, not the mean";
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::vector<RtEstimate> estimate_rt(const std::vector<std::int64_t>& local, const std::vector<std::int64_t>& imported,
                                    const std::vector<double>& si, const std::vector<TimeWindow>& windows,
                                    const RtConfig& config) {
  return rt_posterior(local, imported, si, windows, config, true);
}

std::vector<RtEstimate> estimate_rt_parametric(const std::vector<std::int64_t>& local,
                                               const std::vector<std::int64_t>& imported, double si_mean,
                                               double si_sd, const std::vector<TimeWindow>& windows,
                                               const RtConfig& config) {
  const int T = static_cast<int>(local.size());
  if (T < 2) bad("the incidence needs at least 2 days", "incidence");
  return rt_posterior(local, imported, discretise_si(T, si_mean, si_sd), windows, config, false);
}

// ---------------------------------------------------------------- growth

Growth growth_rate(const std::vector<std::int64_t>& counts, double level, std::int64_t min_cases) {
  Growth g;
  g.days = static_cast<int>(counts.size());
  if (!(level > 0 && level < 1)) bad("the interval level must be between 0 and 1", "level");
  for (auto c : counts) {
    if (c < 0) bad("a daily count is negative", "cases");
    g.cases += c;
  }
  if (g.days < 3 || g.cases < std::max<std::int64_t>(min_cases, 1)) {
    g.warning = "few_cases";
    g.reason = std::to_string(g.cases) + " cases over " + std::to_string(g.days) + " days: at least " +
               std::to_string(std::max<std::int64_t>(min_cases, 1)) + " cases over 3 days or more are needed";
    return g;
  }
  const int n = g.days;
  const double centre = (n - 1) / 2.0;
  std::vector<double> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i)] = i - centre;
    y[static_cast<std::size_t>(i)] = static_cast<double>(counts[static_cast<std::size_t>(i)]);
  }
  // The maximum likelihood exists only if the cases are not all on the first or the last day.
  if (y.front() == static_cast<double>(g.cases) || y.back() == static_cast<double>(g.cases)) {
    g.warning = "no_estimate";
    g.reason = "every case falls on the first or the last day: the growth rate is unbounded";
    return g;
  }
  auto loglik = [&](double a, double r) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
      const double eta = a + r * x[static_cast<std::size_t>(i)];
      s += y[static_cast<std::size_t>(i)] * eta - std::exp(eta);
    }
    return s;
  };
  double a = std::log(static_cast<double>(g.cases) / n), r = 0;
  double i_aa = 0, i_ar = 0, i_rr = 0;
  for (int iter = 0; iter < 200; ++iter) {
    double u_a = 0, u_r = 0;
    i_aa = i_ar = i_rr = 0;
    for (int i = 0; i < n; ++i) {
      const double xi = x[static_cast<std::size_t>(i)];
      const double mu = std::exp(a + r * xi);
      const double res = y[static_cast<std::size_t>(i)] - mu;
      u_a += res;
      u_r += xi * res;
      i_aa += mu;
      i_ar += xi * mu;
      i_rr += xi * xi * mu;
    }
    const double det = i_aa * i_rr - i_ar * i_ar;
    if (!(det > 0)) break;
    double da = (i_rr * u_a - i_ar * u_r) / det;
    double dr = (i_aa * u_r - i_ar * u_a) / det;
    const double before = loglik(a, r);
    double step = 1;
    while (step > 1e-8 && !(loglik(a + step * da, r + step * dr) >= before - 1e-12)) step /= 2;
    a += step * da;
    r += step * dr;
    if (std::abs(step * dr) < 1e-12 && std::abs(step * da) < 1e-12) break;
  }
  // Information at the estimate.
  i_aa = i_ar = i_rr = 0;
  double pearson = 0;
  for (int i = 0; i < n; ++i) {
    const double xi = x[static_cast<std::size_t>(i)];
    const double mu = std::exp(a + r * xi);
    i_aa += mu;
    i_ar += xi * mu;
    i_rr += xi * xi * mu;
    pearson += std::pow(y[static_cast<std::size_t>(i)] - mu, 2) / mu;
  }
  const double det = i_aa * i_rr - i_ar * i_ar;
  if (!std::isfinite(r) || !(det > 0)) {
    g.warning = "no_estimate";
    g.reason = "the log-linear fit did not converge";
    return g;
  }
  if (std::abs(r) < 1e-9) r = 0;  // flat counts: rounding noise is no growth
  g.dispersion = n > 2 ? std::max(1.0, pearson / (n - 2)) : 1.0;
  const double se = std::sqrt(i_aa / det * g.dispersion);
  const double z = boost::math::quantile(boost::math::normal_distribution<double>(), 0.5 + level / 2);
  g.r = r;
  g.r_lo = r - z * se;
  g.r_hi = r + z * se;
  const double ln2 = std::log(2.0);
  if (r > 0) {
    g.doubling = ln2 / r;
    g.doubling_lo = ln2 / *g.r_hi;
    if (*g.r_lo > 0) g.doubling_hi = ln2 / *g.r_lo;
  } else if (r < 0) {
    g.halving = ln2 / -r;
    g.halving_lo = ln2 / -*g.r_lo;
    if (*g.r_hi < 0) g.halving_hi = ln2 / -*g.r_hi;
  }
  return g;
}

// ---------------------------------------------------------------- nowcast

Nowcast nowcast(const std::vector<DelayCount>& counts, int days, const NowcastConfig& config) {
  if (days < 1) bad("the nowcast needs at least one day", "days");
  if (config.max_delay < 1 || config.max_delay > 365) bad("the longest delay must be 1..365 days", "max_delay");
  if (!(config.level > 0 && config.level < 1)) bad("the interval level must be between 0 and 1", "level");
  if (config.draws < 100) bad("the nowcast needs at least 100 draws", "draws");
  const int D = config.max_delay;
  const auto ud = static_cast<std::size_t>(D);
  // n[t][d]: cases of onset day t reported d days later (d lumped into 0..D).
  std::vector<std::vector<double>> n(static_cast<std::size_t>(days), std::vector<double>(ud + 1, 0.0));
  Nowcast out;
  for (const auto& c : counts) {
    if (c.n < 0) bad("a delay count is negative", "n");
    if (c.onset < 0 || c.onset >= days) bad("an onset day lies outside the nowcast's days", "onset");
    const int d = std::clamp(c.delay, 0, D);
    if (c.onset + std::max(c.delay, 0) > days - 1) bad("a case is reported after the last day", "delay");
    n[static_cast<std::size_t>(c.onset)][static_cast<std::size_t>(d)] += static_cast<double>(c.n);
    out.cases += c.n;
  }
  // Reverse-time hazard g_d = P(delay = d | delay <= d), from onset days t with t + d <= days - 1.
  std::vector<double> hit(ud + 1, 0.0), risk(ud + 1, 0.0);
  for (int t = 0; t < days; ++t) {
    double cum = 0;
    for (int d = 0; d <= D; ++d) {
      cum += n[static_cast<std::size_t>(t)][static_cast<std::size_t>(d)];
      if (t + d <= days - 1) {
        hit[static_cast<std::size_t>(d)] += n[static_cast<std::size_t>(t)][static_cast<std::size_t>(d)];
        risk[static_cast<std::size_t>(d)] += cum;
      }
    }
  }
  auto cdf_from = [&](const std::vector<double>& g) {
    // F(d) = P(delay <= d) = prod_{k > d} (1 - g_k), F(D) = 1.
    std::vector<double> F(ud + 1, 1.0);
    for (int d = D - 1; d >= 0; --d)
      F[static_cast<std::size_t>(d)] = F[static_cast<std::size_t>(d) + 1] * (1 - g[static_cast<std::size_t>(d) + 1]);
    return F;
  };
  std::vector<double> g_hat(ud + 1, 0.0);
  for (std::size_t d = 1; d <= ud; ++d) g_hat[d] = risk[d] > 0 ? hit[d] / risk[d] : 0.0;
  g_hat[0] = 1;
  const auto F = cdf_from(g_hat);
  out.delay_pmf.resize(ud + 1);
  for (std::size_t d = 0; d <= ud; ++d) {
    out.delay_pmf[d] = F[d] - (d == 0 ? 0.0 : F[d - 1]);
    out.mean_delay += static_cast<double>(d) * out.delay_pmf[d];
  }
  if (out.cases < 20) {
    out.warning = "few_cases";
    out.reason = std::to_string(out.cases) + " cases with both an onset and a report date: the delay is poorly known";
  }
  // Monte Carlo: hazards from their beta posteriors (Jeffreys), the day's rate from its gamma
  // posterior given the observed count, the still unreported count Poisson.
  std::mt19937_64 rng(config.seed);
  auto gamma_draw = [&](double shape) { return std::gamma_distribution<double>(shape, 1.0)(rng); };
  const auto draws = static_cast<std::size_t>(config.draws);
  const int first_open = std::max(0, days - D);  // days before this are complete
  std::vector<std::vector<double>> totals(static_cast<std::size_t>(days - first_open));
  for (auto& v : totals) v.reserve(draws);
  std::vector<double> g(ud + 1, 0.0);
  for (std::size_t s = 0; s < draws; ++s) {
    for (std::size_t d = 1; d <= ud; ++d) {
      if (risk[d] <= 0) {
        g[d] = 0;
        continue;
      }
      const double x1 = gamma_draw(hit[d] + 0.5), x2 = gamma_draw(risk[d] - hit[d] + 0.5);
      g[d] = x1 / (x1 + x2);
    }
    const auto Fs = cdf_from(g);
    for (int t = first_open; t < days; ++t) {
      const auto m = static_cast<std::size_t>(days - 1 - t);
      double obs = 0;
      for (std::size_t d = 0; d <= std::min(m, ud); ++d) obs += n[static_cast<std::size_t>(t)][d];
      const double p = std::clamp(Fs[std::min(m, ud)], 1e-9, 1.0);
      double total = obs;
      if (p < 1) {
        const double lambda = gamma_draw(obs + 0.5) / p;
        const double mu = lambda * (1 - p);
        if (mu > 0) total += static_cast<double>(std::poisson_distribution<std::int64_t>(mu)(rng));
      }
      totals[static_cast<std::size_t>(t - first_open)].push_back(total);
    }
  }
  const double lo_q = (1 - config.level) / 2, hi_q = 1 - lo_q;
  for (int t = 0; t < days; ++t) {
    NowcastDay day;
    day.day = t;
    const auto m = static_cast<std::size_t>(days - 1 - t);
    double obs = 0;
    for (std::size_t d = 0; d <= std::min(m, ud); ++d) obs += n[static_cast<std::size_t>(t)][d];
    day.observed = static_cast<std::int64_t>(obs);
    day.reported_share = m >= ud ? 1.0 : F[m];
    day.estimate = day.reported_share > 0 ? obs / day.reported_share : obs;
    day.lo = day.hi = obs;
    if (t >= first_open && m < ud) {
      auto& v = totals[static_cast<std::size_t>(t - first_open)];
      std::sort(v.begin(), v.end());
      day.lo = quantile_of_sorted(v, lo_q);
      day.hi = quantile_of_sorted(v, hi_q);
    }
    out.days.push_back(day);
  }
  return out;
}

std::vector<std::optional<double>> moving_average(const std::vector<std::int64_t>& counts, int width) {
  if (width < 1) bad("the average's width must be at least 1 day", "width");
  std::vector<std::optional<double>> out(counts.size());
  double sum = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    sum += static_cast<double>(counts[i]);
    if (i >= static_cast<std::size_t>(width)) sum -= static_cast<double>(counts[i - static_cast<std::size_t>(width)]);
    if (i + 1 >= static_cast<std::size_t>(width)) out[i] = sum / width;
  }
  return out;
}

}  // namespace bihuan::epi
