//===- Mma.h - Warp-level matrix instructions of the GPU emulator -*- C++
//-*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// mma.sync and ldmatrix as whole-warp operations on the lanes' registers,
// with the fragment layouts of the PTX ISA ("Matrix fragments for
// mma.m16n8k16" and its siblings).
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_LIB_RUNTIME_EMULATOR_MMA_H
#define KVQ_LIB_RUNTIME_EMULATOR_MMA_H

#include "kvq/Runtime/kvq_gpu_emulator.h"

#include <cstdint>

namespace kvq {
namespace emu {

/// One mma.sync variant (row.col).
struct MmaShape {
  int32_t m, n, k;
  int32_t typeA, typeB, typeC, typeD;
  bool satfinite;
};

/// The registers per lane of each operand; all 0 for unsupported variants.
kvq_emu_mma_regs mmaRegisters(const MmaShape &shape);

/// D of every lane from `in[lane]` = that lane's A, B, C registers.
void mmaCompute(const MmaShape &shape, const uint32_t (*in)[16],
                uint32_t (*out)[8]);

/// The (row, column) of element `i` of lane `lane`'s fragment of operand
/// `which` (0 A (m x k), 1 B (k x n), 2 C / D (m x n)), and the number of
/// elements per lane.
int mmaElements(const MmaShape &shape, int which);
void mmaPosition(const MmaShape &shape, int which, int lane, int i, int &row,
                 int &col);

} // namespace emu
} // namespace kvq

#endif // KVQ_LIB_RUNTIME_EMULATOR_MMA_H
