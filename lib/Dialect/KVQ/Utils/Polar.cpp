//===- Polar.cpp - PolarQuant codebooks -----------------------------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/Polar.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace mlir;
using namespace mlir::kvq;

static constexpr double kPi = 3.14159265358979323846;

std::pair<double, double> mlir::kvq::polarAngleRange(int64_t level) {
  assert(level >= 1 && "levels count from 1");
  return level == 1 ? std::make_pair(0.0, 2.0 * kPi)
                    : std::make_pair(0.0, 0.5 * kPi);
}

double mlir::kvq::polarDensity(int64_t level, double psi) {
  auto [lo, hi] = polarAngleRange(level);
  if (!(psi >= lo && psi <= hi))
    return 0.0;
  if (level == 1)
    return 1.0;
  int64_t n = int64_t(1) << (level - 1);
  return std::pow(std::sin(2.0 * psi), static_cast<double>(n - 1));
}

std::vector<double>
mlir::kvq::lloydMax(const std::function<double(double)> &density, double lo,
                    double hi, int64_t bits, int64_t grid, double tol,
                    int64_t maxIterations) {
  // The order of every floating-point operation follows
  // kvq.reference.lloyd_max, so both sides compute the same numbers.
  double h = (hi - lo) / grid;
  std::vector<double> x(grid + 1), cumF(grid + 1), cumM(grid + 1);
  std::vector<double> f(grid + 1), xf(grid + 1);
  for (int64_t j = 0; j <= grid; ++j) {
    x[j] = lo + h * static_cast<double>(j);
    f[j] = density(x[j]);
    xf[j] = x[j] * f[j];
  }
  cumF[0] = cumM[0] = 0.0;
  for (int64_t j = 0; j < grid; ++j) {
    cumF[j + 1] = cumF[j] + 0.5 * h * (f[j] + f[j + 1]);
    cumM[j + 1] = cumM[j] + 0.5 * h * (xf[j] + xf[j + 1]);
  }
  auto at = [&](const std::vector<double> &cum, double t) {
    double u = (t - lo) / h;
    double fl =
        std::min(std::max(std::floor(u), 0.0), static_cast<double>(grid - 1));
    auto j = static_cast<int64_t>(fl);
    return cum[j] + (u - fl) * (cum[j + 1] - cum[j]);
  };

  int64_t k = int64_t(1) << bits;
  std::vector<double> c(k);
  // Quantile initialization: the first node j + 1 with cumF[j+1] >= p.
  for (int64_t i = 0; i < k; ++i) {
    double p =
        (static_cast<double>(i) + 0.5) / static_cast<double>(k) * cumF[grid];
    int64_t j =
        std::lower_bound(cumF.begin(), cumF.end(), p) - cumF.begin() - 1;
    c[i] = x[j] + h * (p - cumF[j]) / (cumF[j + 1] - cumF[j]);
  }
  std::vector<double> t(k + 1), ft(k + 1), mt(k + 1);
  for (int64_t it = 0; it < maxIterations; ++it) {
    t[0] = lo;
    t[k] = hi;
    for (int64_t i = 1; i < k; ++i)
      t[i] = 0.5 * (c[i - 1] + c[i]);
    for (int64_t i = 0; i <= k; ++i) {
      ft[i] = at(cumF, t[i]);
      mt[i] = at(cumM, t[i]);
    }
    double moved = 0.0;
    for (int64_t i = 0; i < k; ++i) {
      double next = (mt[i + 1] - mt[i]) / (ft[i + 1] - ft[i]);
      moved = std::max(moved, std::fabs(next - c[i]));
      c[i] = next;
    }
    if (moved <= tol)
      break;
  }
  return c;
}

std::vector<double> mlir::kvq::polarCodebook(int64_t level, int64_t bits) {
  assert(isValidPolarBits(bits) && "PolarQuant codes have 1, 2 or 4 bits");
  auto [lo, hi] = polarAngleRange(level);
  return lloydMax([level](double psi) { return polarDensity(level, psi); }, lo,
                  hi, bits);
}

std::vector<double> mlir::kvq::polarBoundaries(ArrayRef<double> codebook) {
  std::vector<double> boundaries;
  for (size_t i = 1; i < codebook.size(); ++i)
    boundaries.push_back(0.5 * (codebook[i - 1] + codebook[i]));
  return boundaries;
}

std::vector<float> mlir::kvq::polarTrigTable(int64_t level, int64_t bits) {
  std::vector<float> table;
  for (double psi : polarCodebook(level, bits)) {
    table.push_back(static_cast<float>(std::cos(psi)));
    table.push_back(static_cast<float>(std::sin(psi)));
  }
  return table;
}
