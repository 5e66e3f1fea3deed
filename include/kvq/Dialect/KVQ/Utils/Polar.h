//===- Polar.h - PolarQuant codebooks and code layout -----------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The compile-time side of PolarQuant: the analytic densities of the angles
// of the recursive polar transform, their Lloyd-Max codebooks and the byte
// layout of the packed angle codes. Everything mirrors python/kvq/
// reference.py (polar_density, lloyd_max, polar_codebook, polar_encode)
// operation for operation, so the codebooks agree to rounding.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_POLAR_H
#define KVQ_DIALECT_KVQ_UTILS_POLAR_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace mlir {
namespace kvq {

/// Intervals of the grid behind the codebooks (kvq.reference.POLAR_GRID).
constexpr int64_t kPolarGrid = int64_t(1) << 16;
/// Lloyd-Max stops when no centroid moves more than this (radians) or
/// after kPolarMaxIterations (POLAR_TOL, POLAR_MAX_ITERATIONS).
constexpr double kPolarTolerance = 1e-12;
constexpr int64_t kPolarMaxIterations = 10000;

/// The range of the level-`level` angles (levels count from 1):
/// [0, 2 pi) at level 1, [0, pi / 2] above.
std::pair<double, double> polarAngleRange(int64_t level);

/// The unnormalized density of the level-`level` angle of a Gaussian
/// vector: 1 at level 1, sin^(n-1)(2 psi) with n = 2^(level-1) above.
double polarDensity(int64_t level, double psi);

/// The 2^bits Lloyd-Max centroids (sorted) of `density` on [lo, hi]
/// (kvq.reference.lloyd_max): trapezoid running sums of the mass and first
/// moment on a grid of `grid` intervals, quantile initialization, midpoint
/// boundaries, until no centroid moves more than `tol`.
std::vector<double> lloydMax(const std::function<double(double)> &density,
                             double lo, double hi, int64_t bits,
                             int64_t grid = kPolarGrid,
                             double tol = kPolarTolerance,
                             int64_t maxIterations = kPolarMaxIterations);

/// The codebook of the level-`level` angles at `bits` bits
/// (kvq.reference.polar_codebook).
std::vector<double> polarCodebook(int64_t level, int64_t bits);

/// The cell boundaries of a codebook: midpoints of neighbouring centroids
/// (an angle is coded as the number of boundaries strictly below it).
std::vector<double> polarBoundaries(ArrayRef<double> codebook);

/// The decoder's table of a level: (cos, sin) of every centroid rounded to
/// f32, entry `2 k + s` for code k (s = 0: cosine, 1: sine).
std::vector<float> polarTrigTable(int64_t level, int64_t bits);

/// Whether `bits` is a valid code width (1, 2 or 4: a code never straddles
/// a byte).
inline bool isValidPolarBits(int64_t bits) {
  return bits == 1 || bits == 2 || bits == 4;
}

/// Bytes of one token's level-`level` codes for head dim `d`: the
/// d / 2^level codes of `bits` bits, packed LSB first, rounded up.
inline int64_t polarCodeBytes(int64_t d, int64_t level, int64_t bits) {
  return ((d >> level) * bits + 7) / 8;
}

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_POLAR_H
