//===- EmulateGPULaunches.cpp - gpu.launch bodies as host loops -----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// Testing the GPU path without a GPU: each gpu.launch whose threads do not
// communicate becomes loops over its blocks and threads that run its body
// on the host, and device allocations become host ones. With
// kvq-nvvm-emulation-pipeline this executes the kernels kvq-gpu-map-loops
// creates (their index linearization, bounds checks, buffer placement and
// launch order) against the NumPy golden models.
//
//===----------------------------------------------------------------------===//

#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQEMULATEGPULAUNCHES
#include "kvq/Dialect/KVQ/Transforms/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

/// Why `launch` cannot run as independent host iterations, or null.
static const char *whyNotEmulable(gpu::LaunchOp launch) {
  if (!launch.getAsyncDependencies().empty() || launch.getAsyncToken())
    return "it is asynchronous";
  if (launch.getDynamicSharedMemorySize() ||
      !launch.getWorkgroupAttributions().empty())
    return "it uses shared memory";
  if (launch.hasClusterSize())
    return "it uses thread block clusters";
  if (!launch.getBody().hasOneBlock())
    return "its body has several blocks";
  Operation *communicating = nullptr;
  launch.getBody().walk([&](Operation *op) {
    Dialect *dialect = op->getDialect();
    if (isa<gpu::BarrierOp, gpu::ShuffleOp, gpu::AllReduceOp,
            gpu::SubgroupReduceOp, gpu::DynamicSharedMemoryOp>(op) ||
        (dialect && dialect->getNamespace() == "nvgpu") ||
        (dialect && dialect->getNamespace() == "nvvm")) {
      communicating = op;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (communicating)
    return "its threads communicate (barriers, shuffles, shared memory or "
           "warp-level instructions)";
  return nullptr;
}

namespace {
struct KVQEmulateGPULaunchesPass
    : kvq::impl::KVQEmulateGPULaunchesBase<KVQEmulateGPULaunchesPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk(
        [&](gpu::LaunchOp launch) { launches.push_back(launch); });
    bool failed = false;
    for (gpu::LaunchOp launch : launches) {
      if (const char *why = whyNotEmulable(launch)) {
        launch.emitError() << "cannot emulate this GPU kernel on the host: "
                           << why;
        failed = true;
        continue;
      }
      emulate(launch);
    }
    if (failed)
      return signalPassFailure();
    replaceDeviceMemory();
  }

  void emulate(gpu::LaunchOp launch) {
    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    IRMapping mapping;
    gpu::KernelDim3 gridArgs = launch.getGridSize();
    gpu::KernelDim3 blockArgs = launch.getBlockSize();
    mapping.map(gridArgs.x, grid.x);
    mapping.map(gridArgs.y, grid.y);
    mapping.map(gridArgs.z, grid.z);
    mapping.map(blockArgs.x, block.x);
    mapping.map(blockArgs.y, block.y);
    mapping.map(blockArgs.z, block.z);
    // Blocks z, y, x, then threads z, y, x: threads innermost.
    std::pair<Value, Value> dims[] = {
        {launch.getBlockIds().z, grid.z},   {launch.getBlockIds().y, grid.y},
        {launch.getBlockIds().x, grid.x},   {launch.getThreadIds().z, block.z},
        {launch.getThreadIds().y, block.y}, {launch.getThreadIds().x, block.x}};
    for (auto [id, size] : dims) {
      auto loop = scf::ForOp::create(b, loc, c0, size, c1);
      mapping.map(id, loop.getInductionVar());
      b.setInsertionPointToStart(loop.getBody());
    }
    for (Operation &op : launch.getBody().front().without_terminator())
      b.clone(op, mapping);
    launch.erase();
  }

  /// gpu.alloc / gpu.dealloc / gpu.wait outside kernels become host
  /// allocations; their async tokens only order them among themselves.
  void replaceDeviceMemory() {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<gpu::AllocOp, gpu::DeallocOp, gpu::WaitOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
        Value host = memref::AllocOp::create(
            b, alloc.getLoc(), alloc.getMemref().getType(),
            alloc.getDynamicSizes(), alloc.getSymbolOperands());
        alloc.getMemref().replaceAllUsesWith(host);
      } else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op)) {
        memref::DeallocOp::create(b, dealloc.getLoc(), dealloc.getMemref());
      }
    }
    // Token users come after their definitions: erase in reverse order.
    for (Operation *op : llvm::reverse(ops)) {
      if (!op->use_empty()) {
        op->emitError("cannot emulate on the host: its async token is used "
                      "by an op other than gpu.alloc / gpu.dealloc / gpu.wait");
        return signalPassFailure();
      }
      op->erase();
    }
  }
};
} // namespace
