//===- Passes.td - kvq transformation passes ---------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD
#define KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KVQFuse : Pass<"kvq-fuse"> {
  let summary = "Fuse dequantization of K/V into kvq.attention";
  let description = [{
    Rewrites `kvq.attention` whose key or value operand is produced by
    `kvq.dequantize` into an attention that consumes the codes, scales and
    zero points directly, so that no dequantized copy of the cache is ever
    materialised: the lowering decodes each tile in registers inside the
    attention loop.

    ```mlir
    %k = kvq.dequantize #kvq.quant<i4, symmetric, token> %kc, %ks
        : tensor<1x8x64x128xi4>, tensor<1x8x64x1xf32> -> tensor<1x8x64x128xf32>
    %o = kvq.attention q(%q : ...) k(%k : ...) v(%v : ...) -> ...
    // becomes
    %o = kvq.attention q(%q : ...)
        k(%kc : tensor<1x8x64x128xi4>, #kvq.quant<i4, symmetric, token>,
          scale %ks : tensor<1x8x64x1xf32>) v(%v : ...) -> ...
    ```

    The fused form dequantizes in the attention's compute precision (f32),
    which is at least as precise as the separate op's result type. A
    dequantize with other users stays in place for them.
  }];
  let dependentDialects = ["::mlir::kvq::KVQDialect"];
}

def KVQEmulateNarrowTypes : Pass<"kvq-emulate-narrow-types", "ModuleOp"> {
  let summary = "Store i4 / i2 buffers packed in bytes (upstream emulation)";
  let description = [{
    Runs MLIR's narrow-type emulation (arith, memref and vector patterns)
    over bufferized code: every internal `memref<...xi4>` / `memref<...xi2>`
    buffer becomes a flat `memref<?xi8>` of packed codes — element `i` in
    byte `i / (8 / bits)` at bit `(i % (8 / bits)) * bits`, low bits first
    — and vector loads of sub-byte codes become byte loads plus bit casts.
    The same layout is the kernel ABI's; function arguments carry it as
    explicit bytes (see `kvq.pack` / `kvq.unpack`), because the upstream
    patterns of LLVM 22 cannot convert sub-byte memref block arguments.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::affine::AffineDialect"
  ];
}

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD
