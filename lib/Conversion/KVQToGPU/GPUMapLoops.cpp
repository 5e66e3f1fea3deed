//===- GPUMapLoops.cpp - Bufferized loops to plain GPU kernels -----------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The NVVM pipeline turns kvq.attention (with its in-loop decoders) into a
// tuned tensor-core kernel. Everything else in a function (the prefill-side
// method ops once lowered to linalg, and the linalg around them) reaches
// this pass as bufferized parallel loops on the host. It makes them GPU
// code: every outermost scf.parallel becomes a launch with one thread per
// iteration, memory-touching host code left over runs in a single-thread
// launch, buffers become device allocations and constants move into the
// kernels that read them.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_KVQGPUMAPLOOPS
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;

static bool inKernel(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() != nullptr;
}

/// Whether `op` or an op nested in it reads or writes a memref operand
/// (allocation and deallocation are not accesses).
static bool accessesMemory(Operation *op) {
  WalkResult result = op->walk([](Operation *nested) {
    if (isa<gpu::LaunchOp>(nested))
      return WalkResult::skip();
    auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!effects) {
      // Unknown ops that take buffers are assumed to access them.
      if (!nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>() &&
          llvm::any_of(nested->getOperandTypes(), llvm::IsaPred<MemRefType>))
        return WalkResult::interrupt();
      return WalkResult::advance();
    }
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &e : instances)
      if (isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()) &&
          e.getValue() && isa<BaseMemRefType>(e.getValue().getType()))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return result.wasInterrupted();
}

static bool containsLaunch(Operation *op) {
  return op->walk([](gpu::LaunchOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// A gpu.launch of `grid` x `block` threads (x dimension) before `at`, its
/// body ending in a terminator; the builder is left at the body's start.
static gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value grid,
                                  Value block) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto launch = gpu::LaunchOp::create(b, loc, grid, one, one, block, one, one);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&launch.getBody().front());
  return launch;
}

namespace {
struct KVQGPUMapLoopsPass : kvq::impl::KVQGPUMapLoopsBase<KVQGPUMapLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    bool failed = false;
    getOperation().walk([&](func::FuncOp func) {
      // Functions marked kvq.host (kvq-wrap-entry-points' shape functions)
      // run on the host, on host memory.
      if (func.isExternal() || func->hasAttr("kvq.host"))
        return;
      lowerCopies(func);
      mapParallelLoops(func);
      if (!wrapHostAccesses(func.getBody()))
        failed = true;
      moveGlobalsIntoKernels(func);
      if (!allocateOnDevice(func))
        failed = true;
    });
    if (failed)
      signalPassFailure();
  }

  /// memref.copy outside kernels: an element-wise scf.parallel (mapped
  /// below), so that strided views copy correctly on the device.
  void lowerCopies(func::FuncOp func) {
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (!inKernel(copy))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      Location loc = copy.getLoc();
      auto type = cast<MemRefType>(copy.getSource().getType());
      if (type.getRank() == 0) {
        Value v = memref::LoadOp::create(b, loc, copy.getSource());
        memref::StoreOp::create(b, loc, v, copy.getTarget());
        copy.erase();
        continue;
      }
      SmallVector<Value> lbs, ubs, steps;
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      for (int64_t d = 0; d < type.getRank(); ++d) {
        lbs.push_back(c0);
        steps.push_back(c1);
        ubs.push_back(b.createOrFold<memref::DimOp>(loc, copy.getSource(), d));
      }
      scf::ParallelOp::create(
          b, loc, lbs, ubs, steps,
          [&](OpBuilder &nb, Location nloc, ValueRange ivs) {
            Value v = memref::LoadOp::create(nb, nloc, copy.getSource(), ivs);
            memref::StoreOp::create(nb, nloc, v, copy.getTarget(), ivs);
          });
      copy.erase();
    }
  }

  /// Every outermost scf.parallel outside kernels becomes a launch with one
  /// thread per iteration of the linearized iteration space.
  void mapParallelLoops(func::FuncOp func) {
    SmallVector<scf::ParallelOp> loops;
    func.walk([&](scf::ParallelOp loop) {
      if (!inKernel(loop) && !loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops) {
      if (loop.getNumResults() != 0) {
        // Not produced by convert-linalg-to-parallel-loops; runs in one
        // thread (wrapHostAccesses) rather than racing on its reduction.
        continue;
      }
      OpBuilder b(loop);
      Location loc = loop.getLoc();
      // Trip counts, innermost dimension last (fastest).
      SmallVector<Value> counts;
      Value total = arith::ConstantIndexOp::create(b, loc, 1);
      for (auto [lb, ub, step] : llvm::zip(
               loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
        Value span = b.createOrFold<arith::SubIOp>(loc, ub, lb);
        Value count = b.createOrFold<arith::CeilDivSIOp>(loc, span, step);
        count = b.createOrFold<arith::MaxSIOp>(
            loc, count, arith::ConstantIndexOp::create(b, loc, 0));
        counts.push_back(count);
        total = b.createOrFold<arith::MulIOp>(loc, total, count);
      }
      Value block = arith::ConstantIndexOp::create(b, loc, blockSize);
      Value grid = b.createOrFold<arith::CeilDivSIOp>(loc, total, block);
      // A launch of zero blocks is invalid: at least one, all idle.
      grid = b.createOrFold<arith::MaxSIOp>(
          loc, grid, arith::ConstantIndexOp::create(b, loc, 1));
      auto launch = createLaunch(b, loc, grid, block);
      Value linear = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, block),
          launch.getThreadIds().x);
      Value inBounds = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                             linear, total);
      auto guard = scf::IfOp::create(b, loc, inBounds, /*else=*/false);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
      IRMapping mapping;
      Value rest = linear;
      for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
        Value index = rest;
        if (d > 0) {
          index = arith::RemUIOp::create(b, loc, rest, counts[d]);
          rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
        }
        Value iv = arith::AddIOp::create(
            b, loc, loop.getLowerBound()[d],
            arith::MulIOp::create(b, loc, index, loop.getStep()[d]));
        mapping.map(loop.getInductionVars()[d], iv);
      }
      for (Operation &op : loop.getBody()->without_terminator())
        b.clone(op, mapping);
      loop.erase();
    }
  }

  /// Host code left outside kernels that reads or writes memory runs in a
  /// single-thread launch. Ops that contain launches are entered; an op
  /// whose results the host needs cannot move and is reported.
  bool wrapHostAccesses(Region &region) {
    bool ok = true;
    for (Block &block : region) {
      SmallVector<Operation *> ops;
      for (Operation &op : block.without_terminator())
        ops.push_back(&op);
      for (Operation *op : ops) {
        if (isa<gpu::LaunchOp>(op))
          continue;
        if (containsLaunch(op)) {
          for (Region &nested : op->getRegions())
            ok &= wrapHostAccesses(nested);
          continue;
        }
        if (!accessesMemory(op))
          continue;
        bool hostNeedsResult = llvm::any_of(
            op->getUsers(), [&](Operation *u) { return !op->isAncestor(u); });
        if (hostNeedsResult) {
          op->emitError("host code needs a value that this op computes from "
                        "device memory; kvq-gpu-map-loops cannot move it into "
                        "a kernel");
          ok = false;
          continue;
        }
        OpBuilder b(op);
        Value one = arith::ConstantIndexOp::create(b, op->getLoc(), 1);
        auto launch = createLaunch(b, op->getLoc(), one, one);
        op->moveBefore(&launch.getBody().front().back());
      }
    }
    return ok;
  }

  /// A memref.get_global whose buffer kernels read is re-created inside
  /// each of them; gpu-kernel-outlining then copies the global into the
  /// GPU module.
  void moveGlobalsIntoKernels(func::FuncOp func) {
    SmallVector<memref::GetGlobalOp> globals;
    func.walk([&](memref::GetGlobalOp get) {
      if (!inKernel(get))
        globals.push_back(get);
    });
    for (memref::GetGlobalOp get : globals) {
      DenseMap<gpu::LaunchOp, Value> local;
      for (OpOperand &use : llvm::make_early_inc_range(get->getUses())) {
        auto launch = use.getOwner()->getParentOfType<gpu::LaunchOp>();
        if (!launch)
          continue;
        Value &copy = local[launch];
        if (!copy) {
          OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
          copy = b.clone(*get)->getResult(0);
        }
        use.set(copy);
      }
      if (get->use_empty())
        get.erase();
    }
  }

  /// Host allocations become device allocations, freed at the end of their
  /// block (or where the host freed them).
  bool allocateOnDevice(func::FuncOp func) {
    SmallVector<Operation *> allocs;
    func.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::AllocaOp>(op) && !inKernel(op))
        allocs.push_back(op);
    });
    bool ok = true;
    for (Operation *alloc : allocs) {
      Value buffer = alloc->getResult(0);
      auto type = cast<MemRefType>(buffer.getType());
      Block *block = alloc->getBlock();
      SmallVector<memref::DeallocOp> deallocs;
      bool escapes = false;
      for (Operation *user : buffer.getUsers()) {
        if (auto dealloc = dyn_cast<memref::DeallocOp>(user))
          deallocs.push_back(dealloc);
        else if (user->hasTrait<OpTrait::IsTerminator>() &&
                 user->getBlock() == block)
          escapes = true;
      }
      if (escapes) {
        alloc->emitError("buffer leaves the block that allocates it; "
                         "kvq-gpu-map-loops cannot place it in device memory");
        ok = false;
        continue;
      }
      OpBuilder b(alloc);
      Location loc = alloc->getLoc();
      auto tokenType = gpu::AsyncTokenType::get(b.getContext());
      Value token =
          gpu::WaitOp::create(b, loc, tokenType, ValueRange{}).getAsyncToken();
      auto dynamicSizes = isa<memref::AllocOp>(alloc)
                              ? cast<memref::AllocOp>(alloc).getDynamicSizes()
                              : cast<memref::AllocaOp>(alloc).getDynamicSizes();
      auto device =
          gpu::AllocOp::create(b, loc, type, tokenType, ValueRange{token},
                               dynamicSizes, ValueRange{}, UnitAttr());
      gpu::WaitOp::create(b, loc, Type(), ValueRange{device.getAsyncToken()});
      buffer.replaceAllUsesWith(device.getMemref());
      alloc->erase();

      auto free = [&](OpBuilder &fb) {
        Value t = gpu::WaitOp::create(fb, loc, tokenType, ValueRange{})
                      .getAsyncToken();
        t = gpu::DeallocOp::create(fb, loc, tokenType, ValueRange{t},
                                   device.getMemref())
                .getAsyncToken();
        gpu::WaitOp::create(fb, loc, Type(), ValueRange{t});
      };
      if (deallocs.empty()) {
        OpBuilder fb = OpBuilder::atBlockTerminator(block);
        free(fb);
      }
      for (memref::DeallocOp dealloc : deallocs) {
        OpBuilder fb(dealloc);
        free(fb);
        dealloc.erase();
      }
    }
    return ok;
  }
};
} // namespace
