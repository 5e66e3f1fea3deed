//===- Random.cpp - Compile-time random matrices --------------------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Utils/Random.h"

#include <cmath>

using namespace mlir;

static uint64_t splitmix64(uint64_t &state) {
  state += 0x9E3779B97F4A7C15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<double> mlir::kvq::drawGaussians(int64_t count, int64_t seed) {
  uint64_t state = static_cast<uint64_t>(seed);
  std::vector<double> out(count);
  for (double &value : out) {
    uint64_t a = splitmix64(state), b = splitmix64(state);
    double u1 = static_cast<double>((a >> 11) + 1) * 0x1.0p-53;
    double u2 = static_cast<double>(b >> 11) * 0x1.0p-53;
    value = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  return out;
}

std::vector<float> mlir::kvq::rotationMatrix(int64_t d, StringRef kind,
                                             int64_t seed) {
  std::vector<float> s(d * d);
  if (kind == "hadamard") {
    std::vector<double> signs = drawGaussians(d, seed);
    double norm = 1.0 / std::sqrt(static_cast<double>(d));
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) {
        // Sylvester: H[i][j] = (-1)^popcount(i & j).
        double h = __builtin_popcountll(i & j) % 2 ? -1.0 : 1.0;
        s[i * d + j] =
            static_cast<float>(h * (signs[j] < 0 ? -1.0 : 1.0) * norm);
      }
    return s;
  }
  // Modified Gram-Schmidt of the columns of a Gaussian matrix (row major).
  std::vector<double> a = drawGaussians(d * d, seed);
  std::vector<double> q(d * d, 0.0);
  std::vector<double> v(d);
  for (int64_t j = 0; j < d; ++j) {
    for (int64_t r = 0; r < d; ++r)
      v[r] = a[r * d + j];
    for (int64_t i = 0; i < j; ++i) {
      double dot = 0.0;
      for (int64_t r = 0; r < d; ++r)
        dot += q[r * d + i] * v[r];
      for (int64_t r = 0; r < d; ++r)
        v[r] -= dot * q[r * d + i];
    }
    double norm = 0.0;
    for (int64_t r = 0; r < d; ++r)
      norm += v[r] * v[r];
    norm = std::sqrt(norm);
    for (int64_t r = 0; r < d; ++r)
      q[r * d + j] = v[r] / norm;
  }
  for (int64_t i = 0; i < d * d; ++i)
    s[i] = static_cast<float>(q[i]);
  return s;
}
