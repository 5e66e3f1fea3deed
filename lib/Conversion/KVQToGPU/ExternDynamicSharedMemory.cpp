//===- ExternDynamicSharedMemory.cpp - PTX extern dynamic shared memory ---===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// convert-gpu-to-nvvm lowers gpu.dynamic_shared_memory to a zero-sized
// addrspace(3) global with internal linkage, which the NVPTX backend prints
// as a 1-byte static `.shared` variable ("demoted"); kernels then address
// the dynamic region relative to the static area instead of its base. CUDA
// declares dynamic shared memory `.extern .shared .align A .b8 name[]`,
// which the backend prints for an external zero-sized global. This pass
// gives those globals external linkage.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQEXTERNDYNAMICSHAREDMEMORY
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

namespace {
struct KVQExternDynamicSharedMemoryPass
    : kvq::impl::KVQExternDynamicSharedMemoryBase<
          KVQExternDynamicSharedMemoryPass> {
  void runOnOperation() override {
    getOperation().walk([](LLVM::GlobalOp global) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() != 3 || !array || array.getNumElements() != 0 ||
          global.getLinkage() != LLVM::Linkage::Internal ||
          global.getInitializerRegion().getBlocks().size() ||
          global.getValueAttr())
        return;
      global.setLinkage(LLVM::Linkage::External);
    });
  }
};
} // namespace
