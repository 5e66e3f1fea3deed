//===- KVQToLinalg.cpp - convert-kvq-to-linalg ----------------------------===//
//
// Part of the kvq project: attention over compressed KV caches.
//
// The one conversion of kvq's method ops to linalg: every method's patterns
// (Lower*.cpp in this directory) applied in one pass, method by method, and
// a ConversionTarget that makes their ops illegal, so that none is left
// behind silently.
//
//===----------------------------------------------------------------------===//

#include "kvq/Conversion/KVQToLinalg/KVQToLinalg.h"
#include "kvq/Conversion/Passes.h"
#include "kvq/Dialect/KVQ/IR/KVQOps.h"
#include "kvq/Dialect/KVQ/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir {
namespace kvq {
#define GEN_PASS_DEF_CONVERTKVQTOLINALG
#include "kvq/Conversion/Passes.h.inc"
} // namespace kvq
} // namespace mlir

using namespace mlir;
using namespace mlir::kvq;

void mlir::kvq::populateKVQToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  populateLowerQuantPatterns(patterns);
  populateLowerLowRankPatterns(patterns);
  populateExpandRotationPatterns(patterns);
  populateLowerGearPatterns(patterns);
  populateLowerPolarPatterns(patterns);
  populateLowerVidKVPatterns(patterns);
  populateLowerPolyAttentionPatterns(patterns);
  populateLowerLeveragePatterns(patterns);
}

void mlir::kvq::configureKVQToLinalgConversionLegality(
    ConversionTarget &target) {
  // Everything of kvq but the attention op, whose lowerings (CPU loops, GPU
  // kernels) are conversions of their own, and the vector-level dot_i8 and
  // lookup that the CPU loops use (kvq-lower-dot-i8, kvq-lower-lookup); ops
  // of other dialects stay legal (a partial conversion).
  target.addIllegalDialect<KVQDialect>();
  target.addLegalOp<AttentionOp, DotI8Op, LookupOp>();
}

std::string mlir::kvq::getKVQToLinalgFailure(Operation *op) {
  for (auto why : {getLowRankToLinalgFailure, getLeverageToLinalgFailure,
                   getPolyAttentionToLinalgFailure})
    if (std::string reason = why(op); !reason.empty())
      return reason;
  return "";
}

namespace {
struct ConvertKVQToLinalgPass
    : kvq::impl::ConvertKVQToLinalgBase<ConvertKVQToLinalgPass> {
  void runOnOperation() override {
    // An op whose pattern needs a static size says which, before anything
    // is rewritten (a failed conversion only names the op).
    bool unsupported = false;
    getOperation()->walk([&](Operation *op) {
      if (std::string why = getKVQToLinalgFailure(op); !why.empty()) {
        op->emitOpError() << "cannot be converted to linalg: " << why;
        unsupported = true;
      }
    });
    if (unsupported)
      return signalPassFailure();

    // One phase per method, in a fixed order. Quantization and VidKV
    // rewrite each op once where it stands (a walk, no folding); the others
    // run to a fixed point (a method op's lowering may create ops of its own
    // phase, e.g. kvq.rotate -> kvq.project), when the IR has ops of theirs.
    MLIRContext *ctx = &getContext();
    auto walk = [&](void (*populate)(RewritePatternSet &)) -> LogicalResult {
      RewritePatternSet patterns(ctx);
      populate(patterns);
      walkAndApplyPatterns(getOperation(), std::move(patterns));
      return success();
    };
    auto greedy =
        [&](std::initializer_list<void (*)(RewritePatternSet &)> populates)
        -> LogicalResult {
      RewritePatternSet patterns(ctx);
      for (auto populate : populates)
        populate(patterns);
      // A phase with nothing to lower leaves the IR as it is (the driver
      // would still fold and hoist constants).
      llvm::SmallDenseSet<OperationName> roots;
      for (const std::unique_ptr<RewritePattern> &pattern :
           patterns.getNativePatterns())
        if (std::optional<OperationName> root = pattern->getRootKind())
          roots.insert(*root);
      bool found = getOperation()
                       ->walk([&](Operation *op) {
                         return roots.contains(op->getName())
                                    ? WalkResult::interrupt()
                                    : WalkResult::advance();
                       })
                       .wasInterrupted();
      if (!found ||
          succeeded(applyPatternsGreedily(getOperation(), std::move(patterns))))
        return success();
      return getOperation()->emitError()
             << "convert-kvq-to-linalg: the patterns did not converge";
    };
    if (failed(walk(populateLowerQuantPatterns)) ||
        failed(greedy(
            {populateLowerLowRankPatterns, populateExpandRotationPatterns})) ||
        failed(greedy({populateLowerPolyAttentionPatterns})) ||
        failed(greedy({populateLowerLeveragePatterns})) ||
        failed(greedy({populateLowerGearPatterns})) ||
        failed(walk(populateLowerVidKVPatterns)) ||
        failed(greedy({populateLowerPolarPatterns})))
      return signalPassFailure();

    // Whatever the target makes illegal must be gone.
    ConversionTarget target(getContext());
    configureKVQToLinalgConversionLegality(target);
    bool left = false;
    getOperation()->walk([&](Operation *op) {
      if (target.isIllegal(op)) {
        op->emitOpError() << "was not converted to linalg";
        left = true;
      }
    });
    if (left)
      signalPassFailure();
  }
};
} // namespace
