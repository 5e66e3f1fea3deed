//===- Random.h - Compile-time random matrices ------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The seeded random matrices kvq compiles into kernels (PolySketch
// sketches, rotations). Each is drawn exactly as its NumPy counterpart in
// python/kvq/reference.py draws it.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_UTILS_RANDOM_H
#define KVQ_DIALECT_KVQ_UTILS_RANDOM_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <vector>

namespace mlir {
namespace kvq {

/// `count` N(0, 1) draws from `seed`: splitmix64 pairs, Box-Muller (cosine
/// branch) (kvq.reference._gaussians).
std::vector<double> drawGaussians(int64_t count, int64_t seed);

/// The d x d orthogonal matrix S (row major, f32) of kvq.rotate:
/// "hadamard" (Sylvester times random signs over sqrt(d)) or "orthogonal"
/// (modified Gram-Schmidt of a Gaussian matrix, columns)
/// (kvq.reference.rotation_matrix).
std::vector<float> rotationMatrix(int64_t d, StringRef kind, int64_t seed);

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_UTILS_RANDOM_H
