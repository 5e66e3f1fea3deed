//===- KVQOps.td - kvq operations --------------------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQOPS_TD
#define KVQ_DIALECT_KVQ_IR_KVQOPS_TD

include "kvq/Dialect/KVQ/IR/KVQBase.td"
include "kvq/Dialect/KVQ/IR/KVQAttrs.td"
include "kvq/Dialect/KVQ/IR/KVQInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

def KVQ_FloatTensor : RankedTensorOf<[AnyFloat]>;

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

def KVQ_QuantizeOp : KVQ_Op<"quantize", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Quantize a floating-point tensor into codes and side data";
  let description = [{
    Computes, for every block of `input` that the scheme's granularity
    defines, a scale (and a zero point for asymmetric schemes) from the
    block's finite values, and the code of every element. `codes` has the
    input's shape and the scheme's storage type; `scale` (and `zero_point`)
    have the scheme's scale shape and scale type.

    Example:

    ```mlir
    %codes, %scale, %zp = kvq.quantize
        #kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16> %v
        : tensor<1x8x100x128xf32>
        -> tensor<1x8x100x128xi4>, tensor<1x8x100x4xf16>, tensor<1x8x100x4xf16>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input, KVQ_QuantSchemeAttr:$scheme);
  let results = (outs AnyRankedTensor:$codes, KVQ_FloatTensor:$scale,
                      Optional<KVQ_FloatTensor>:$zero_point);
  let assemblyFormat = [{
    custom<Scheme>($scheme) $input attr-dict `:` type($input) `->` type($codes) `,`
    type($scale) (`,` type($zero_point)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

def KVQ_DequantizeOp : KVQ_Op<"dequantize", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Reconstruct a floating-point tensor from codes and side data";
  let description = [{
    The inverse of `kvq.quantize`: `code * scale` (symmetric) or
    `code * scale + zero_point` (asymmetric, unsigned codes), with the scale
    of the block holding each element. The result has the codes' shape and
    any floating-point element type.

    Example:

    ```mlir
    %k = kvq.dequantize #kvq.quant<i8, symmetric, token> %codes, %scale
        : tensor<1x8x100x128xi8>, tensor<1x8x100x1xf32> -> tensor<1x8x100x128xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$codes, KVQ_FloatTensor:$scale,
                       Optional<KVQ_FloatTensor>:$zero_point,
                       KVQ_QuantSchemeAttr:$scheme);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    custom<Scheme>($scheme) $codes `,` $scale (`,` $zero_point^)? attr-dict `:` type($codes)
    `,` type($scale) (`,` type($zero_point)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

def KVQ_AttentionOp : KVQ_Op<"attention", [Pure, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>,
    DeclareOpInterfaceMethods<TilingInterface,
        ["getLoopIteratorTypes", "getIterationDomain",
         "getTiledImplementation", "getResultTilePosition"]>]> {
  let summary = "Scaled dot-product attention over a possibly compressed KV cache";
  let description = [{
    `softmax(Q K^T * scale + mask) V` for

    * `Q`: `[B, Hq, Sq, D]`, floating point (`Sq = 1` is decode);
    * `K`: `[B, Hkv, Skv, D]` and `V`: `[B, Hkv, Skv, Dv]`, either plain
      floating point or quantized codes (then the operand group names the
      scheme and its scale / zero-point tensors). `Hq` must be a multiple of
      `Hkv`: query head `h` reads key/value head `h / (Hq / Hkv)`
      (grouped-query attention);
    * `mask`: optional additive mask broadcastable to `[B, Hq, Sq, Skv]`
      (each of the three leading dimensions is either full or 1);
    * `scale`: defaults to `1 / sqrt(D)`;
    * `causal`: query `i` attends key `j` only when `j <= i + Skv - Sq`
      (bottom-right aligned, so a decode query sees the whole cache).

    A query row with every key masked produces zeros. The result is
    `[B, Hq, Sq, Dv]` with Q's element type (any float type when Q is
    quantized).

    SageAttention2 (see `kvq.sage_attention`, which expands to this form)
    adds three optional parts:

    * quantized queries: `q(%codes : type, #kvq.quant<...>, scale %s :
      type)` with a symmetric scheme; attention reads `code * scale`;
    * `delta_s(%ds : tensor<B x Hq x ceildiv(Sq, G) x Skv x f32>)` with
      `delta_s_rows = G`: `ds[b, h, i / G, j]` is added to `q_i . k_j`
      before the softmax scale (SageAttention2's Delta-S = q-bar (K - km)^T
      of smoothed queries, q-bar the mean of a group of G query rows);
    * `p_type = f8E4M3FN`, `f16` or `bf16`: the probabilities that multiply
      V are rounded to that type. FP8 uses the static scale of SageAttention2:
      `P~ = exp2(s' - (m - 8.807))` with `s'` the score in the log2 domain
      and `m` the running maximum of the row over the KV tiles seen so far
      (so `P~ <= 2^8.807 < 448`), rounded to nearest even e4m3; f16 and bf16
      round `exp2(s' - m)` (bf16: the CPU's prefill kernel then multiplies
      bf16 V with AVX512-BF16 dot products; the GPU kernels reject it). The row sums use the unrounded values (fp32), as the
      reference kernels do. Which tiles the running maximum has seen
      depends on the KV tile size of the lowering (64 on the CPU by
      default, as in the reference kernels).

    The op implements `TilingInterface` over its parallel iteration space
    `(B, Hq, Sq)`, so upstream tiling and the transform dialect
    (`transform.structured.tile_using_for`, `tile_using_forall`) can split
    it: a tile of query heads must cover whole GQA groups (a multiple of
    `Hq / Hkv`), and with `causal` a tile of query positions reads only the
    keys its rows may see (a prefix of the cache), which keeps the causal
    alignment and skips fully masked keys.

    Example (decode with an INT4 K and an INT8 V cache):

    ```mlir
    %o = kvq.attention
        q(%q : tensor<1x32x1x128xf32>)
        k(%kc : tensor<1x8x4096x128xi4>,
          #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>,
          scale %ks : tensor<1x8x4096x4xf16>)
        v(%vc : tensor<1x8x4096x128xi8>, #kvq.quant<i8, symmetric, token>,
          scale %vs : tensor<1x8x4096x1xf32>)
        {causal} -> tensor<1x32x1x128xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$query,
    AnyRankedTensor:$key,
    AnyRankedTensor:$value,
    Optional<KVQ_FloatTensor>:$key_scale,
    Optional<KVQ_FloatTensor>:$key_zero_point,
    Optional<KVQ_FloatTensor>:$value_scale,
    Optional<KVQ_FloatTensor>:$value_zero_point,
    Optional<KVQ_FloatTensor>:$mask,
    OptionalAttr<KVQ_QuantSchemeAttr>:$key_scheme,
    OptionalAttr<KVQ_QuantSchemeAttr>:$value_scheme,
    OptionalAttr<F32Attr>:$scale,
    UnitAttr:$causal,
    Optional<KVQ_FloatTensor>:$query_scale,
    Optional<KVQ_FloatTensor>:$delta_s,
    OptionalAttr<KVQ_QuantSchemeAttr>:$query_scheme,
    OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$delta_s_rows,
    OptionalAttr<TypeAttr>:$p_type
  );
  let results = (outs KVQ_FloatTensor:$result);
  let builders = [
    // The form without quantized queries, Delta-S or rounded probabilities.
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$query,
      "::mlir::Value":$key, "::mlir::Value":$value, "::mlir::Value":$key_scale,
      "::mlir::Value":$key_zero_point, "::mlir::Value":$value_scale,
      "::mlir::Value":$value_zero_point, "::mlir::Value":$mask,
      "::mlir::kvq::QuantSchemeAttr":$key_scheme,
      "::mlir::kvq::QuantSchemeAttr":$value_scheme,
      "::mlir::FloatAttr":$scale, "::mlir::UnitAttr":$causal), [{
      build($_builder, $_state, result, query, key, value, key_scale,
            key_zero_point, value_scale, value_zero_point, mask, key_scheme,
            value_scheme, scale, causal, /*query_scale=*/::mlir::Value(),
            /*delta_s=*/::mlir::Value(), /*query_scheme=*/nullptr,
            /*delta_s_rows=*/nullptr, /*p_type=*/nullptr);
    }]>
  ];
  let assemblyFormat = [{
    `q` `(` custom<QueryOperand>($query, type($query), $query_scheme,
                                 $query_scale, type($query_scale)) `)`
    `k` `(` custom<KVOperand>($key, type($key), $key_scheme, $key_scale,
                              type($key_scale), $key_zero_point,
                              type($key_zero_point)) `)`
    `v` `(` custom<KVOperand>($value, type($value), $value_scheme,
                              $value_scale, type($value_scale),
                              $value_zero_point, type($value_zero_point)) `)`
    (`mask` `(` $mask^ `:` type($mask) `)`)?
    (`delta_s` `(` $delta_s^ `:` type($delta_s) `)`)?
    attr-dict `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The softmax scale: the `scale` attribute, else 1/sqrt(D).
    double getEffectiveScale();
    /// Number of query heads sharing one key/value head.
    int64_t getGroupSize();
    bool isKeyQuantized() { return static_cast<bool>(getKeySchemeAttr()); }
    bool isValueQuantized() { return static_cast<bool>(getValueSchemeAttr()); }
    bool isQueryQuantized() { return static_cast<bool>(getQuerySchemeAttr()); }
  }];
}

//===----------------------------------------------------------------------===//
// PackOp
//===----------------------------------------------------------------------===//

def KVQ_SubByteCodesTensor : RankedTensorOf<[I<4>, I<2>]>;
def KVQ_BytesTensor : RankedTensorOf<[I8]>;

def KVQ_PackOp : KVQ_Op<"pack", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Pack i4 / i2 codes into bytes along the last dimension";
  let description = [{
    Stores `8 / bits` sub-byte codes per byte, least significant bits first:
    element `d` of a row (the last dimension) lives in byte `d / (8 / bits)`
    at bit offset `(d % (8 / bits)) * bits`, two's complement bits for
    negative codes. So the i4 row `[1, -2]` packs to the byte `0xE1`.

    The leading dimensions are unchanged (they may be dynamic); the last
    dimension must be static, a multiple of `8 / bits`, and the result's
    last dimension is `codes_last * bits / 8`. This is the layout of
    `kvq.reference.pack` on every row, and the layout in which kernels take
    and return sub-byte codes (see `kvq-legalize-abi`).

    Example:

    ```mlir
    %b = kvq.pack %c : tensor<1x8x100x128xi4> -> tensor<1x8x100x64xi8>
    ```
  }];
  let arguments = (ins KVQ_SubByteCodesTensor:$codes);
  let results = (outs KVQ_BytesTensor:$bytes);
  let assemblyFormat = [{
    $codes attr-dict `:` type($codes) `->` type($bytes)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// Bit width of one code (4 or 2).
    unsigned getCodeBitWidth() {
      return getCodes().getType().getElementTypeBitWidth();
    }
    /// Number of codes stored in one byte (2 or 4).
    unsigned getCodesPerByte() { return 8 / getCodeBitWidth(); }
  }];
}

//===----------------------------------------------------------------------===//
// UnpackOp
//===----------------------------------------------------------------------===//

def KVQ_UnpackOp : KVQ_Op<"unpack", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Unpack bytes into i4 / i2 codes along the last dimension";
  let description = [{
    The inverse of `kvq.pack`: code `d` of a row is bits
    `[(d % (8 / bits)) * bits, (d % (8 / bits) + 1) * bits)` of byte
    `d / (8 / bits)`. The codes are signless; a symmetric scheme reads them
    as signed, an asymmetric one as unsigned. The same shape rules as
    `kvq.pack` apply, with the roles of operand and result swapped.

    Example:

    ```mlir
    %c = kvq.unpack %b : tensor<1x8x100x64xi8> -> tensor<1x8x100x128xi4>
    ```
  }];
  let arguments = (ins KVQ_BytesTensor:$bytes);
  let results = (outs KVQ_SubByteCodesTensor:$codes);
  let assemblyFormat = [{
    $bytes attr-dict `:` type($bytes) `->` type($codes)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// Bit width of one code (4 or 2).
    unsigned getCodeBitWidth() {
      return getCodes().getType().getElementTypeBitWidth();
    }
    /// Number of codes stored in one byte (2 or 4).
    unsigned getCodesPerByte() { return 8 / getCodeBitWidth(); }
  }];
}

//===----------------------------------------------------------------------===//
// Low rank: ProjectOp, ReconstructOp
//===----------------------------------------------------------------------===//

class KVQ_LowRankOp<string mnemonic>
    : KVQ_Op<mnemonic, [Pure,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                  ["reifyResultShapes"]>]> {
  let arguments = (ins KVQ_FloatTensor:$input, KVQ_FloatTensor:$basis,
                       Optional<KVQ_FloatTensor>:$mean);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $basis (`,` $mean^)? attr-dict `:` type($input) `,`
    type($basis) (`,` type($mean)^)? `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Heads sharing one basis: `H / Hb` (dynamic when either is).
    int64_t getHeadsPerBasis();
  }];
}

def KVQ_ProjectOp : KVQ_LowRankOp<"project"> {
  let summary = "Project K, V or Q onto a per-head low-rank basis";
  let description = [{
    `result[b, h, s, r] = sum_d (input[b, h, s, d] - mean[hb, d]) *
    basis[hb, d, r]` with `hb = h / (H / Hb)`: `input` is `[B, H, S, D]`,
    `basis` `[Hb, D, R]` (`H` a multiple of `Hb`: one basis per head, one
    per KV head for the query heads of a GQA group, or one shared), `mean`
    (optional) `[Hb, D]`; the result is `[B, H, S, R]`. Arithmetic is f32;
    the result has its own float type.

    This is the cache side of MatryoshkaKV / low-rank KV compression: the
    cache stores `R < D` coordinates per token. `kvq-fuse` never
    reconstructs a projected cache inside attention: a `kvq.reconstruct`
    feeding `kvq.attention` as K becomes a projection of the queries (the
    mean only shifts every score of a row by the same amount), and as V it
    moves after the attention. Projected caches compose with quantization
    (`kvq.quantize` of the projection).

    Example:

    ```mlir
    %kr = kvq.project %k, %u, %mu
        : tensor<1x8x?x128xf32>, tensor<8x128x32xf32>, tensor<8x128xf32>
          -> tensor<1x8x?x32xf32>
    ```
  }];
}

def KVQ_ReconstructOp : KVQ_LowRankOp<"reconstruct"> {
  let summary = "Reconstruct K or V from low-rank coordinates";
  let description = [{
    `result[b, h, s, d] = sum_r input[b, h, s, r] * basis[hb, d, r] +
    mean[hb, d]` with `hb = h / (H / Hb)`: the inverse of `kvq.project` for
    an orthonormal basis (`input` `[B, H, S, R]`, `basis` `[Hb, D, R]`,
    `mean` `[Hb, D]`, result `[B, H, S, D]`).

    Example:

    ```mlir
    %k = kvq.reconstruct %kr, %u, %mu
        : tensor<1x8x?x32xf32>, tensor<8x128x32xf32>, tensor<8x128xf32>
          -> tensor<1x8x?x128xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// SmoothOp
//===----------------------------------------------------------------------===//

def KVQ_SmoothOp : KVQ_Op<"smooth", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "SageAttention K smoothing: subtract the mean over tokens";
  let description = [{
    Returns `input - mean` and `mean`, the mean over the token dimension
    (dim 2) of each `(batch, head)`: `input` is `[B, H, S, D]`, `centered`
    has the same shape and `mean` is `[B, H, 1, D]` (zeros when `S = 0`).
    Arithmetic is f32.

    Attention does not change when its keys are smoothed (`q . mean` is
    the same for every key of a query row), but quantizing the smoothed
    keys spends no range on the per-channel bias that real keys carry
    (SageAttention). The mean is only needed by consumers of the
    log-sum-exp.

    Canonicalization removes what cancels: `kvq.attention` over smoothed
    keys reads the original keys (the smoothing is invisible to it), and
    smoothing smoothed keys returns them with a zero mean.

    Example:

    ```mlir
    %ks, %km = kvq.smooth %k : tensor<1x8x?x128xf16>
        -> tensor<1x8x?x128xf16>, tensor<1x8x1x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input);
  let results = (outs KVQ_FloatTensor:$centered, KVQ_FloatTensor:$mean);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($centered) `,` type($mean)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// LatentAttentionOp
//===----------------------------------------------------------------------===//

def KVQ_LatentAttentionOp : KVQ_Op<"latent_attention", [Pure]> {
  let summary = "Multi-head latent attention (MLA) over a shared latent cache";
  let description = [{
    DeepSeek-V2/V3 attention over a compressed latent cache. Per head `h`,
    with `c_j = cache[b, 0, j, :Dc]` the latent and `r_j = cache[b, 0, j,
    Dc:]` the shared rotary key of token `j`:

    ```
    k_h,j = W_UK[h] c_j          (W_UK[h]: [Dn, Dc])
    v_h,j = W_UV[h] c_j          (W_UV[h]: [Dv, Dc])
    s_h,ij = (q_nope[h,i] . k_h,j + q_rope[h,i] . r_j) * scale
    out[h,i] = sum_j softmax_j(s_h,ij) v_h,j
    ```

    * `q_nope`: `[B, H, Sq, Dn]`, `q_rope`: `[B, H, Sq, Dr]`;
    * `cache`: `[B, 1, Skv, Dc + Dr]`, the latent and the rotary key of each
      token side by side (the layout FlashMLA uses);
    * `w_uk`: `[H, Dn, Dc]`, `w_uv`: `[H, Dv, Dc]` (the up-projections);
    * `scale` defaults to `1 / sqrt(Dn + Dr)`; `causal` as in
      `kvq.attention`. The result is `[B, H, Sq, Dv]` with `q_nope`'s type.

    `kvq-absorb-latent-attention` rewrites it the "absorbed" way, which
    never forms a per-head key or value: `q~ = q_nope W_UK` (`kvq.project`),
    one `kvq.attention` of all heads over the cache as a single shared K/V
    head (keys `[c, r]`, values `c`, a view of the same cache) and
    `out = W_UV o~` (`kvq.reconstruct`).

    Example (DeepSeek-V3 sizes, decode):

    ```mlir
    %o = kvq.latent_attention q(%qn : tensor<1x128x1x128xf32>)
        q_rope(%qr : tensor<1x128x1x64xf32>) cache(%kv : tensor<1x1x?x576xf32>)
        w_uk(%wuk : tensor<128x128x512xf32>) w_uv(%wuv : tensor<128x128x512xf32>)
        -> tensor<1x128x1x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$query, KVQ_FloatTensor:$query_rope,
                       KVQ_FloatTensor:$cache, KVQ_FloatTensor:$w_uk,
                       KVQ_FloatTensor:$w_uv, OptionalAttr<F32Attr>:$scale,
                       UnitAttr:$causal);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    `q` `(` $query `:` type($query) `)`
    `q_rope` `(` $query_rope `:` type($query_rope) `)`
    `cache` `(` $cache `:` type($cache) `)`
    `w_uk` `(` $w_uk `:` type($w_uk) `)`
    `w_uv` `(` $w_uv `:` type($w_uv) `)`
    attr-dict `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Latent width Dc (from w_uk).
    int64_t getLatentDim() { return getWUk().getType().getDimSize(2); }
    /// The softmax scale: the `scale` attribute, else 1/sqrt(Dn + Dr).
    double getEffectiveScale();
  }];
}

//===----------------------------------------------------------------------===//
// PolySketchFormer: PolySketchOp, PolyAttentionOp
//===----------------------------------------------------------------------===//

def KVQ_PolySketchOp : KVQ_Op<"poly_sketch", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Degree-2 polynomial sketch (PolySketchFormer)";
  let description = [{
    `result[..., i] = (x S1)[..., i] * (x S2)[..., i]` for `x` `[..., D]`:
    `S1`, `S2` are `[D, r]` Gaussian sketches with N(0, 1/sqrt(r)) entries drawn
    from `seed` at compile time (splitmix64 + Box-Muller, rounded to f32:
    `kvq.reference.sketch_matrices`), so `<poly_sketch(q), poly_sketch(k)>`
    is an unbiased estimate of `(q . k)^2` and its square a non-negative
    estimate of `(q . k)^4`. Arithmetic is f32.

    ```mlir
    %f = kvq.poly_sketch %k {sketch = 32, seed = 7}
        : tensor<1x8x?x64xf32> -> tensor<1x8x?x32xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntPositive]>:$sketch,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def KVQ_PolyAttentionOp : KVQ_Op<"poly_attention", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Polynomial attention (PolySketchFormer), exact or sketched";
  let description = [{
    `o_i = sum_j w_ij v_j / (1 + sum_j w_ij)` with `w_ij = (q_i . k_j)^p`
    (`p` = `degree`, even; `sketch = 0`: exact) or, with `sketch = r > 0`
    (then `p = 4`), `w_ij = <phi(q_i), phi(k_j)>^2` with `phi` the
    `kvq.poly_sketch` of size `r` from `seed`. No softmax and no
    `1/sqrt(D)`: PolySketchFormer layer-normalizes q and k beforehand (a
    separate op). Shapes and GQA as `kvq.attention`: q `[B, Hq, Sq, D]`, k
    `[B, Hkv, Skv, D]`, v `[B, Hkv, Skv, Dv]`, result `[B, Hq, Sq, Dv]`;
    `causal` is bottom-right aligned (`w_ij = 0` for `j > i + Skv - Sq`).

    Lowering (`convert-kvq-to-linalg`): exact attention forms the
    weights densely; the sketched form never forms the `r^2` features of a
    token nor an `Sq x Skv` matrix: without `causal` it builds the state
    `Z = sum_j phi(k_j) (x) phi(k_j) (x) [v_j, 1]` once (`r x r x (Dv + 1)`
    per KV head) and contracts it with each query; with `causal` it walks
    the queries in blocks of `block`, keeping the state of all keys every
    row of the block sees (a prefix that grows block by block: the decode
    cache of the method) and adding the block's partially visible keys
    exactly, so time and memory are linear in the sequence length.

    ```mlir
    %o = kvq.poly_attention q(%q : tensor<1x8x?x64xf32>) k(%k : tensor<1x8x?x64xf32>)
        v(%v : tensor<1x8x?x64xf32>) {sketch = 32, seed = 7, causal}
        -> tensor<1x8x?x64xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$query, KVQ_FloatTensor:$key,
                       KVQ_FloatTensor:$value,
                       DefaultValuedAttr<I64Attr, "4">:$degree,
                       DefaultValuedAttr<I64Attr, "0">:$sketch,
                       DefaultValuedAttr<I64Attr, "0">:$seed,
                       DefaultValuedAttr<I64Attr, "256">:$block,
                       UnitAttr:$causal);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    `q` `(` $query `:` type($query) `)` `k` `(` $key `:` type($key) `)`
    `v` `(` $value `:` type($value) `)` attr-dict `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// LevAttention: LeverageScoresOp, SelectKeysOp
//===----------------------------------------------------------------------===//

def KVQ_LeverageScoresOp : KVQ_Op<"leverage_scores", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Leverage scores of the keys of each head (LevAttention)";
  let description = [{
    `tau[b, h, j] = k_j^T (K^T K + lambda I)^-1 k_j` for the keys `K` of
    each `(b, h)` of `input` `[B, H, S, D]`; the result is `[B, H, S]`
    (computed in f64: the Gram matrix of keys of rank < D is singular up to
    rounding). `lambda = ridge * trace(K^T K) / D` (default `ridge = 1e-9`)
    keeps the D x D system well posed when K has rank < D; otherwise the
    scores are those of the pseudo-inverse up to that relative shift. For
    f(x) = x^2, every key with `(q . k_j)^2 >= eps ||K q||^2` has `tau_j >=
    eps` (LevAttention), whatever the query; the scores sum to rank(K).

    Two passes over the keys: the Gram matrix `K^T K`, then the scores;
    the workspace (a D x D matrix per head) does not grow with S. The
    inverse is Gauss-Jordan elimination on the (symmetric positive
    definite) Gram matrix.

    ```mlir
    %tau = kvq.leverage_scores %k : tensor<1x8x?x64xf32> -> tensor<1x8x?xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       DefaultValuedAttr<F64Attr, "1.0e-9">:$ridge);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def KVQ_SelectKeysOp : KVQ_Op<"select_keys", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Mask of the keys with the highest leverage scores";
  let description = [{
    The additive mask of `kvq.attention` that keeps (0) the keys `j` with
    `scores[b, h, j] >= epsilon`, or with `top = m` the `m` keys of each
    head with the highest scores (ties to the earlier key), and drops the
    others (-inf); exactly one of `epsilon` and `top` is given:
    `scores` is `[B, H, S]`, the result `[B, Hm, Sm, S]` with `Hm` a
    multiple of `H` (query heads of a GQA group use their KV head's
    scores) and every one of the `Sm` rows the same. So attention over the
    selected keys is `kvq.attention ... mask(%m)` (rows that keep no key
    output 0). By the LevAttention bound at most `rank(K) / epsilon <= D /
    epsilon` keys of a head are kept, whatever the sequence length.

    ```mlir
    %m = kvq.select_keys %tau {epsilon = 0.05 : f64}
        : tensor<1x8x?xf32> -> tensor<1x32x1x?xf32>
    %m2 = kvq.select_keys %tau {top = 256}
        : tensor<1x8x?xf32> -> tensor<1x32x1x?xf32>
    ```

    Top-m ranks each key against all keys of its head (quadratic in the
    length; threshold selection is linear).
  }];
  let arguments = (ins KVQ_FloatTensor:$scores, OptionalAttr<F64Attr>:$epsilon,
                       OptionalAttr<I64Attr>:$top);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = "$scores attr-dict `:` type($scores) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// RotateOp
//===----------------------------------------------------------------------===//

def KVQ_RotateOp : KVQ_Op<"rotate", [Pure, SameOperandsAndResultShape,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Seeded random rotation of the head dimension";
  let description = [{
    `result = S x` along the last dimension of `input` `[B, H, S, D]`
    (`S^T x` with `inverse`), with S a `D x D` orthogonal matrix fixed at
    compile time from `seed` (`kvq.reference.rotation_matrix`):

    * `hadamard` (default): a Sylvester Hadamard matrix times random signs,
      over sqrt(D); D a power of two;
    * `orthogonal`: Gram-Schmidt of a seeded Gaussian matrix.

    Rotations spread outlier channels before quantization (QuaRot-style
    `rotate -> int4`) and make coordinates near-Gaussian (PolarQuant's
    preconditioning). They are free inside attention: `kvq-fuse` expands a
    rotation into `kvq.project` / `kvq.reconstruct` with a constant basis,
    so un-rotating the keys becomes rotating the queries once (`<S q, S k>
    = <q, k>`) and un-rotating the values happens once on the output.

    A rotation followed by its inverse (same kind and seed) folds away
    when the types agree.

    ```mlir
    %kr = kvq.rotate %k {seed = 7} : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>
    %k2 = kvq.rotate %kd {seed = 7, inverse} : tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       DefaultValuedAttr<StrAttr, "\"hadamard\"">:$kind,
                       DefaultValuedAttr<I64Attr, "0">:$seed,
                       UnitAttr:$inverse);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// DotI8Op
//===----------------------------------------------------------------------===//

def KVQ_DotI8Op : KVQ_Op<"dot_i8", [Pure,
    AllTypesMatch<["acc", "result"]>, AllTypesMatch<["lhs", "rhs"]>]> {
  let summary = "Lane-wise sums of four unsigned x signed byte products";
  let description = [{
    `result[l] = acc[l] + sum_{i < 4} zext(lhs[4l + i]) * sext(rhs[4l + i])`
    with wrapping i32 arithmetic: the integer dot products that the CPU
    attention kernel's int8 scores (schedule `int8_dot`) and int8 P V
    (schedule `int8_pv`) are built from. `lhs` holds unsigned bytes (the
    key codes offset to be non-negative; the quantized weights), `rhs`
    signed bytes (the quantized query; the value codes).

    The optional `lhs_bits` and `rhs_bits` state what the producer
    guarantees of the bytes: every `lhs` byte is below `2^lhs_bits` (as an
    unsigned byte), every `rhs` byte lies in `[-2^(rhs_bits-1),
    2^(rhs_bits-1))`. Both default to 8 (any byte). Bytes outside the
    stated range make the result unspecified. The bounds say when a
    product pair fits in i16, which AVX2's `vpmaddubsw` needs: 4-bit key
    codes against an int8 query, or int8 weights against 4-bit value codes.

    `kvq-lower-dot-i8` lowers it: with `vnni`, to AVX512-VNNI's `vpdpbusd`
    (`llvm.x86.avx512.vpdpbusd.{128,256,512}` for 4, 8 and 16 lanes; the
    target must have AVX512-VNNI, which `kvq-compile` checks); with `avx2`,
    where the bounds keep the sum of two products in i16, to AVX2's
    `vpmaddubsw` and `vpmaddwd`; otherwise to portable vector code
    (extensions, a multiply and the four products of each lane summed by
    shuffles).

    ```mlir
    %r = kvq.dot_i8 %acc, %codes, %query : vector<64xi8> -> vector<16xi32>
    %s = kvq.dot_i8 %acc, %codes, %query {lhs_bits = 4 : i64}
        : vector<64xi8> -> vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I32]>:$acc,
                       VectorOfRankAndType<[1], [I8]>:$lhs,
                       VectorOfRankAndType<[1], [I8]>:$rhs,
                       OptionalAttr<ConfinedAttr<I64Attr,
                           [IntMinValue<1>, IntMaxValue<8>]>>:$lhs_bits,
                       OptionalAttr<ConfinedAttr<I64Attr,
                           [IntMinValue<1>, IntMaxValue<8>]>>:$rhs_bits);
  let results = (outs VectorOfRankAndType<[1], [I32]>:$result);
  let assemblyFormat =
      "$acc `,` $lhs `,` $rhs attr-dict `:` type($lhs) `->` type($result)";
  let extraClassDeclaration = [{
    /// The largest magnitude the sum of two products (lanes 2m and 2m + 1)
    /// can reach under the bounds: (2^lhs_bits - 1) * 2^rhs_bits.
    int64_t getPairBound() {
      return ((int64_t(1) << getLhsBits().value_or(8)) - 1)
             << getRhsBits().value_or(8);
    }
  }];
  let hasVerifier = 1;
}

def KVQ_LookupOp : KVQ_Op<"lookup", [Pure,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "Lane-wise reads of a small table by index";
  let description = [{
    `result[l] = table[indices[l] mod N]` for a table of `N` elements, `N`
    a power of two from 2 to 256: only the low `log2 N` bits of each index
    count, so every index is in range. The decoders of the CPU attention
    kernel use it for codebooks: PolarQuant's cosine / sine factor of each
    code is one lookup in a table of `2 * 2^bits` entries (the lane's
    choice of cosine or sine is one more index bit), instead of a tree of
    `2^bits - 1` selects. A table of bytes read by byte indices (the index
    bytes taken as unsigned) serves decoders whose codes are bytes:
    VidKV's base-3 digits, 5 per byte, one lookup per digit in a table of
    256.

    `kvq-lower-lookup` lowers it: with `avx512`, a table of up to 16
    elements to one AVX-512 `vpermps` (`vpermd` for i32) per 16 lanes, of
    32 to one `vpermi2ps` (`vpermi2d`); with `avx2`, up to 8 elements to
    one AVX2 `vpermps` (`vpermd`) per 8 lanes; with `vbmi`, byte tables
    of up to 64 elements to one AVX512-VBMI `vpermb` per 64 lanes, of 128
    to one `vpermi2b`; larger tables to such
    lookups in slices of the table, chosen among by selects on the higher
    index bits; otherwise to portable vector code (a tree of `N - 1`
    selects on the index bits).

    ```mlir
    %f = kvq.lookup %table[%codes] : vector<32xf32>, vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [F32, I32, I8]>:$table,
                       VectorOfRankAndType<[1], [I32, I8]>:$indices);
  let results = (outs VectorOfRankAndType<[1], [F32, I32, I8]>:$result);
  let assemblyFormat =
      "$table `[` $indices `]` attr-dict `:` type($table) `,` type($indices)";
  let extraClassDeclaration = [{
    /// The largest table the op takes.
    static constexpr int64_t kMaxTableSize = 256;
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// GEAR: ExtractOutliersOp, LowRankApproxOp, GearDecodeOp
//===----------------------------------------------------------------------===//

def KVQ_IndexTensor : RankedTensorOf<[I32]>;

def KVQ_ExtractOutliersOp : KVQ_Op<"extract_outliers", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Split off the largest-magnitude entries of every token";
  let description = [{
    For every row (token) of `input` `[B, H, S, D]`, the `count` entries of
    largest magnitude are the outliers: `indices` (i32) and `values` are
    `[B, H, S, count]`, in order of decreasing magnitude (ties to the lower
    channel), and `remainder` is the input with those entries set to zero.
    So `remainder + scatter(values at indices) = input` exactly.

    This is GEAR's sparse part `S`: the remainder quantizes with a range
    that no outlier stretches. GEAR keeps about 2 % of the entries; with
    `D = 128` that is `count = 2` or `3` per token (see docs/Methods.md).

    ```mlir
    %rem, %idx, %val = kvq.extract_outliers %k {count = 3}
        : tensor<1x8x?x128xf32>
        -> tensor<1x8x?x128xf32>, tensor<1x8x?x3xi32>, tensor<1x8x?x3xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntPositive]>:$count);
  let results = (outs KVQ_FloatTensor:$remainder, KVQ_IndexTensor:$indices,
                      KVQ_FloatTensor:$values);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($remainder) `,` type($indices)
    `,` type($values)
  }];
  let hasVerifier = 1;
}

def KVQ_LowRankApproxOp : KVQ_Op<"low_rank_approx", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Rank-r approximation of every (batch, head) by subspace iteration";
  let description = [{
    For every `(b, h)` matrix `X = input[b, h]` (`[S, D]`): `W` `[D, rank]`
    is the result of `iterations` steps of subspace iteration on the Gram
    matrix `X^T X` (f64), `W <- orthonormalize(X^T X W)`, from a seeded
    Gaussian start (`kvq.reference._gaussians(D * rank, seed)`, the same
    for every head, orthonormalized); orthonormalization is classical
    Gram-Schmidt applied twice, and a column that lies in the span of the
    previous ones (norm after the projection <= 1e-12 of the largest
    column norm of the matrix) becomes zero. The
    results are `a = X W` `[B, H, S, rank]` and `b = W^T` `[B, H, rank, D]`,
    so `a b = X W W^T`: the projection of the rows of X on W, the best
    rank-r approximation once W spans the top right singular vectors.

    Each step multiplies by the Gram matrix once, like one power-iteration
    loop of GEAR's reference; two passes over X (the Gram matrix, then `a`)
    and a `D x D` workspace per head. This is GEAR's low-rank part `L` of
    the quantization residual (`kvq.reference.low_rank_approx`).

    ```mlir
    %a, %b = kvq.low_rank_approx %res {rank = 4, iterations = 3, seed = 0}
        : tensor<1x8x?x128xf32> -> tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntPositive]>:$rank,
                       DefaultValuedAttr<I64Attr, "3">:$iterations,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs KVQ_FloatTensor:$a, KVQ_FloatTensor:$b);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($a) `,` type($b)
  }];
  let hasVerifier = 1;
}

def KVQ_GearDecodeOp : KVQ_Op<"gear_decode", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "GEAR decoding: base + low rank + sparse outliers";
  let description = [{
    `result[b, h, s, d] = base[b, h, s, d] + sum_r a[b, h, s, r] *
    f[b, h, r, d] + sum_k [indices[b, h, s, k] == d] values[b, h, s, k]`
    with `base` `[B, H, S, D]` (normally a `kvq.dequantize` result), `a`
    `[B, H, S, R]`, `f` (`%b`) `[B, H, R, D]`, `indices` (i32) and `values`
    `[B, H, S, K]` (K may be 0). Arithmetic is f32.

    GEAR's `X ~ Q(X - S) + L + S`: with `base` the dequantized remainder of
    `kvq.extract_outliers`, `a f` the `kvq.low_rank_approx` of the
    quantization residual and the outliers scattered back.

    ```mlir
    %k = kvq.gear_decode %kd, %a, %f, %idx, %val
        : tensor<1x8x?x128xf32>, tensor<1x8x?x4xf32>, tensor<1x8x4x128xf32>,
          tensor<1x8x?x3xi32>, tensor<1x8x?x3xf32> -> tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$base, KVQ_FloatTensor:$a,
                       KVQ_FloatTensor:$b, KVQ_IndexTensor:$indices,
                       KVQ_FloatTensor:$values);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    $base `,` $a `,` $b `,` $indices `,` $values attr-dict `:` type($base) `,`
    type($a) `,` type($b) `,` type($indices) `,` type($values) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// xKV: CrossLayerBasisOp
//===----------------------------------------------------------------------===//

def KVQ_CrossLayerBasisOp : KVQ_Op<"cross_layer_basis", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "xKV: one low-rank basis shared by the K (or V) of G layers";
  let description = [{
    The `G` inputs (the K, or the V, of G adjacent layers, each
    `[B, H, S, D]`) side by side along features form `X` `[B, H, S, G D]`.
    Per head, `W` `[G D, rank]` comes from `iterations` steps of subspace
    iteration on the Gram matrix `sum_{b, s} X^T X` (f64), exactly as in
    `kvq.low_rank_approx`. Results: the shared `coordinates = X W`
    `[B, H, S, rank]` (what the cache holds, once for the G layers) and one
    basis per layer, `W[:, l D : (l + 1) D, :]` `[H, D, rank]`.

    Layer `l` is `kvq.reconstruct %coordinates, %basis_l`, and `kvq-fuse`
    keeps it low rank inside attention (the queries of layer `l` are
    projected on `basis_l`). The bases are per KV head and shared by the
    batch (`kvq.reference.cross_layer_basis`).

    ```mlir
    %c, %u:2 = kvq.cross_layer_basis %k0, %k1 {rank = 48, iterations = 8}
        : tensor<1x8x?x128xf32>, tensor<1x8x?x128xf32>
        -> tensor<1x8x?x48xf32>, tensor<8x128x48xf32>, tensor<8x128x48xf32>
    ```
  }];
  let arguments = (ins Variadic<KVQ_FloatTensor>:$inputs,
                       ConfinedAttr<I64Attr, [IntPositive]>:$rank,
                       DefaultValuedAttr<I64Attr, "8">:$iterations,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs KVQ_FloatTensor:$coordinates,
                      Variadic<KVQ_FloatTensor>:$bases);
  let assemblyFormat = [{
    $inputs attr-dict `:` type($inputs) `->` type($coordinates) `,`
    type($bases)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// SageAttentionOp
//===----------------------------------------------------------------------===//

def KVQ_SageAttentionOp : KVQ_Op<"sage_attention", [Pure]> {
  let summary = "SageAttention2: INT8/INT4 QK^T and FP8/FP16 PV attention";
  let description = [{
    Attention computed the way SageAttention2 (thu-ml/SageAttention) does,
    with every quantization step done at run time from the float inputs:

    1. `smooth_k` (default true): `K <- K - km`, km the mean of the keys
       over tokens per (batch, KV head) (`kvq.smooth`);
    2. `smooth_q` (default true): per group of 128 query rows of a head,
       `Q <- Q - q-bar` and `Delta-S = q-bar (K - km)^T` in f32, added to
       the scores of that group;
    3. Q and K quantized to `qk` (`i8`, or `i4` for the 4-bit variant),
       symmetric, rounding half away from zero, f32 scales, with the
       `granularity` of the reference: `block` (Q per 128 rows, K per 64
       rows), `warp` (Q per 32 rows, K per 64 rows) or `thread` (default;
       the mma fragment groups: Q `fragment(rows = 32, period = 8, run =
       1)`, K `fragment(rows = 64, period = 8, run = 2)`);
    4. `pv = f8E4M3FN` (default): V per-channel e4m3 (scale max|V_c| /
       448) and the probabilities rounded to e4m3 with the static 448
       scale; `pv = f16`: V rounded to f16 and the probabilities to f16;
    5. exp2-based online softmax with f32 row sums and f32 accumulation.

    `kvq-expand-sage-attention` rewrites it into `kvq.smooth`,
    `kvq.quantize` and a `kvq.attention` with quantized Q, K, V, `delta_s`
    and `p_type`. Shapes, GQA, `scale` and `causal` as in `kvq.attention`
    (the head dimension must be static). The result has Q's element type.

    ```mlir
    %o = kvq.sage_attention q(%q : tensor<1x32x?x128xf16>)
        k(%k : tensor<1x8x?x128xf16>) v(%v : tensor<1x8x?x128xf16>)
        {qk = i8, pv = f8E4M3FN, granularity = "thread", causal}
        -> tensor<1x32x?x128xf16>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$query, KVQ_FloatTensor:$key,
                       KVQ_FloatTensor:$value,
                       OptionalAttr<TypeAttr>:$qk,
                       OptionalAttr<TypeAttr>:$pv,
                       DefaultValuedAttr<StrAttr, "\"thread\"">:$granularity,
                       DefaultValuedAttr<BoolAttr, "true">:$smooth_q,
                       DefaultValuedAttr<BoolAttr, "true">:$smooth_k,
                       OptionalAttr<F32Attr>:$scale,
                       UnitAttr:$causal);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    `q` `(` $query `:` type($query) `)` `k` `(` $key `:` type($key) `)`
    `v` `(` $value `:` type($value) `)` attr-dict `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The QK code type: `qk`, default i8.
    ::mlir::Type getQKType();
    /// The PV type: `pv`, default f8E4M3FN.
    ::mlir::Type getPVType();
    /// Rows per group of query smoothing (SageAttention2: 128).
    static constexpr int64_t kSmoothRows = 128;
  }];
}


//===----------------------------------------------------------------------===//
// VidKV: VidKVEncodeKeyOp, VidKVDecodeKeyOp, VidKVEncodeValueOp,
// VidKVDecodeValueOp, VidKVDecodeKeySlotsOp, VidKVProjectQueryOp
//===----------------------------------------------------------------------===//

def KVQ_I32Tensor : RankedTensorOf<[I32]>;

def KVQ_VidKVEncodeKeyOp : KVQ_Op<"vidkv_encode_key", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "VidKV key encoding: 2-bit outlier channels, 1-bit FFT rest";
  let description = [{
    Encodes keys `input` `[B, H, S, D]` (static `D`) the VidKV way. Per
    `(b, h)` the channels are ranked by their range `max - min` over the
    tokens (largest first, ties to the lower channel); the top
    `n_high = floor(D * ratio)` are *high* channels, the other
    `N = D - n_high` *low* channels. `channels[b, h, c]` is the slot of
    channel `c`: the high channels in ascending order take slots
    `0 .. n_high - 1`, the low ones `n_high .. D - 1`.

    * High channels (in slot order) are quantized 2-bit asymmetric
      (KIVI): per channel and group of `group_size` tokens,
      `scale = (max - min) / 3` (1 when 0), `min`, `code =
      clamp(round_half_away((x - min) / scale), 0, 3)`, exactly
      `kvq.quantize #kvq.quant<i2, asymmetric, group(axis = 2, size = G)>`.
      `high_codes [B, H, S, ceil(n_high / 4)]`: four codes per byte along
      the slots, LSB first; `high_scale`, `high_min` `[B, H, ceil(S / G),
      n_high]`.
    * Low channels (in slot order) are transformed by a real DFT along
      them, per token: the N real degrees of freedom of the spectrum,
      `Re X_0 .. Re X_{N/2}` then `Im X_1 .. Im X_{ceil(N/2) - 1}`
      (the rest is conjugate-symmetric). Each spectral component `r` is
      stored as one bit `r >= 0`, 8 per byte along the components
      (`low_codes [B, H, S, ceil(N / 8)]`), with `low_scale [B, H,
      ceil(S / G), N]` = `mean |r|` over each group of tokens; it decodes
      to `sign * scale`.

    The last group of a ragged sequence is partial. Codes take `(2 n_high
    + N) / D` bits per value: 1.5 with the default `ratio = 0.5`.
    `kvq.vidkv_decode_key` is the inverse; `kvq.reference.vidkv_encode_key`
    the golden model; docs/Methods.md the choices against the paper's code.

    ```mlir
    %hc, %hs, %hm, %lc, %ls, %ch = kvq.vidkv_encode_key %k {ratio = 0.5 : f64, group_size = 32}
        : tensor<1x8x?x128xf32> -> tensor<1x8x?x16xi8>, tensor<1x8x?x64xf32>,
          tensor<1x8x?x64xf32>, tensor<1x8x?x8xi8>, tensor<1x8x?x64xf32>,
          tensor<1x8x128xi32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       DefaultValuedAttr<F64Attr, "0.5">:$ratio,
                       DefaultValuedAttr<I64Attr, "32">:$group_size);
  let results = (outs KVQ_BytesTensor:$high_codes,
                      KVQ_FloatTensor:$high_scale, KVQ_FloatTensor:$high_min,
                      KVQ_BytesTensor:$low_codes, KVQ_FloatTensor:$low_scale,
                      KVQ_I32Tensor:$channels);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type(results)";
  let hasVerifier = 1;
}

def KVQ_VidKVDecodeKeyOp : KVQ_Op<"vidkv_decode_key", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Reconstruct keys from their VidKV encoding";
  let description = [{
    The inverse of `kvq.vidkv_encode_key` (whose results are the operands,
    in order): channel `c` of token `s` with slot `j = channels[b, h, c]`
    is `code * scale + min` of high slot `j` when `j < n_high`, else
    element `j - n_high` of the inverse DFT of the low spectrum (`(2 bit -
    1) * low_scale` per component). `n_high` and `N` are the last
    dimensions of `high_scale` and `low_scale`; `group_size` must be the
    encoder's. The result is `[B, H, S, D]` with `D = n_high + N`.

    ```mlir
    %k = kvq.vidkv_decode_key %hc, %hs, %hm, %lc, %ls, %ch {group_size = 32}
        : tensor<1x8x?x16xi8>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
          tensor<1x8x?x8xi8>, tensor<1x8x?x64xf32>, tensor<1x8x128xi32>
        -> tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins KVQ_BytesTensor:$high_codes,
                       KVQ_FloatTensor:$high_scale, KVQ_FloatTensor:$high_min,
                       KVQ_BytesTensor:$low_codes, KVQ_FloatTensor:$low_scale,
                       KVQ_I32Tensor:$channels,
                       DefaultValuedAttr<I64Attr, "32">:$group_size);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    operands attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def KVQ_VidKVEncodeValueOp : KVQ_Op<"vidkv_encode_value", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "VidKV value encoding: per-channel ternary (1.58-bit)";
  let description = [{
    Encodes values `input` `[B, H, S, D]` (static `D`) as ternary codes:
    per channel and group of `group_size` tokens, `m = mean |v|`; a value
    is `+1` above `m / 2`, `-1` below `-m / 2` and 0 otherwise, and decodes
    to that times `scale = m` (`scale [B, H, ceil(S / G), D]`; the last
    group of a ragged sequence is partial). Codes are packed five per byte
    along the channels, digit `t + 1` of channel `c` weighing `3^(c mod 5)`
    in byte `c / 5` (`codes [B, H, S, ceil(D / 5)]`, byte values 0..242):
    1.6 bits per value.

    ```mlir
    %c, %s = kvq.vidkv_encode_value %v {group_size = 32}
        : tensor<1x8x?x128xf32> -> tensor<1x8x?x26xi8>, tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "32">:$group_size);
  let results = (outs KVQ_BytesTensor:$codes, KVQ_FloatTensor:$scale);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type(results)";
  let hasVerifier = 1;
}

def KVQ_VidKVDecodeValueOp : KVQ_Op<"vidkv_decode_value", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Reconstruct values from their VidKV ternary encoding";
  let description = [{
    The inverse of `kvq.vidkv_encode_value`: `t * scale` for the ternary
    digit `t` of each value and the scale of its channel and token group.
    `D` is the last dimension of `scale`.

    ```mlir
    %v = kvq.vidkv_decode_value %c, %s {group_size = 32}
        : tensor<1x8x?x26xi8>, tensor<1x8x?x128xf32> -> tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins KVQ_BytesTensor:$codes, KVQ_FloatTensor:$scale,
                       DefaultValuedAttr<I64Attr, "32">:$group_size);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    operands attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def KVQ_VidKVDecodeKeySlotsOp : KVQ_Op<"vidkv_decode_key_slots", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "VidKV keys in slot coordinates (no inverse DFT)";
  let description = [{
    The keys of a VidKV encoding before the inverse DFT and the channel
    permutation: slot `j < n_high` of token `s` is `high[b, h, s, j]` (the
    decoded high channels, normally a `kvq.dequantize` of the 2-bit high
    codes), slot `n_high + m` is spectral component `m`, `(2 bit - 1) *
    low_scale[b, h, s / G, m]` with the bit read from `low_codes` (8 per
    byte, LSB first). `high` is `[B, H, S, n_high]`, `low_codes` `[B, H, S,
    ceil(N / 8)]`, `low_scale` `[B, H, ceil(S / G), N]`; the result is
    `[B, H, S, n_high + N]`.

    A VidKV key is a fixed linear map of its slots (the identity on the
    high slots, the inverse DFT on the low ones, then the per-head channel
    permutation), so `q . k = kvq.vidkv_project_query(q) . slots`:
    `kvq-fuse` rewrites attention over `kvq.vidkv_decode_key` into
    attention of the projected queries over these slots, which attention
    decodes in its loop at a few vector operations per channel chunk.

    ```mlir
    %k = kvq.vidkv_decode_key_slots %high, %lc, %ls {group_size = 32}
        : tensor<1x8x?x64xf32>, tensor<1x8x?x8xi8>, tensor<1x8x?x64xf16>
        -> tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$high, KVQ_BytesTensor:$low_codes,
                       KVQ_FloatTensor:$low_scale,
                       DefaultValuedAttr<I64Attr, "32">:$group_size);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    operands attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def KVQ_VidKVProjectQueryOp : KVQ_Op<"vidkv_project_query", [Pure,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Map queries into the slot coordinates of VidKV keys";
  let description = [{
    `result[b, h, s, j] = sum_c query[b, h, s, c] * M[channels[b, hk, c],
    j]` with `hk = h / (H / Hk)` and `M` the `D x D` block-diagonal map of
    a VidKV key from its slots to its channels: the identity on the first
    `n_high` slots, the inverse DFT of `N = D - n_high` values (as in
    `kvq.vidkv_decode_key`) on the rest. Then for every key `k =
    kvq.vidkv_decode_key(...)` of head `hk`, `query . k = result .
    kvq.vidkv_decode_key_slots(...)`: the inverse DFT runs once per query
    instead of once per key.

    `query` is `[B, H, S, D]` (static `D`), `channels` `[B, Hk, D]` (each
    channel's slot, as `kvq.vidkv_encode_key` returns it; `H` a multiple of
    `Hk`); a slot outside `[0, D)` contributes nothing. Arithmetic is f32;
    the result has the query's shape and its own float type.

    ```mlir
    %q2 = kvq.vidkv_project_query %q, %ch {n_high = 64}
        : tensor<1x32x1x128xf32>, tensor<1x8x128xi32> -> tensor<1x32x1x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$query, KVQ_I32Tensor:$channels,
                       I64Attr:$n_high);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $channels attr-dict `:` type($query) `,` type($channels) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// PolarQuant: PolarEncodeOp, PolarDecodeOp
//===----------------------------------------------------------------------===//

class KVQ_PolarOp<string mnemonic, list<Trait> traits = []>
    : KVQ_Op<mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                  ["reifyResultShapes"]>])> {
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Channels per block: 2^levels.
    int64_t getBlockSize() { return int64_t(1) << getLevels(); }
  }];
}

def KVQ_PolarEncodeOp : KVQ_PolarOp<"polar_encode"> {
  let summary = "PolarQuant: recursive polar transform with per-level angle codes";
  let description = [{
    Encodes `input` `[B, H, S, D]` in blocks of `2^levels` channels along
    the head dimension (`D` static, a multiple of `2^levels`):

    * level 1 pairs channels `(2j, 2j+1)` into the angle
      `atan2(x_2j+1, x_2j)` in `[0, 2 pi)` and the radius
      `sqrt(x_2j^2 + x_2j+1^2)`;
    * level `l >= 2` pairs the radii of level `l - 1` the same way, the
      angle `atan(r_2j+1 / r_2j)` lying in `[0, pi / 2]`;
    * the radius of the last level is the norm of a block: `radius` is
      `[B, H, S, D / 2^levels]` (any float type, f16 in the paper).

    Each angle becomes the index of the nearest centroid of its level's
    codebook (the number of midpoints between neighbouring centroids
    strictly below it): `bits[l-1]` (1, 2 or 4) bits at level `l`. The
    codebooks are Lloyd-Max quantizers of the angle densities of a Gaussian
    vector (uniform at level 1, `sin^(n-1)(2 psi)` with `n = 2^(l-1)`
    above), computed at compile time (`kvq.reference.polar_codebook`), so no
    scale or zero point is stored: rotate the input first (`kvq.rotate`),
    which makes any vector's angles follow those densities. Arithmetic is
    f64 (the radius is rounded to f32, then to its type).

    `codes` holds one `i8` tensor per level: the `D / 2^l` codes of a token
    at level `l` packed LSB first (`kvq.pack`'s layout: code `j` in byte
    `j * bits / 8` at bit `(j * bits) % 8`), `[B, H, S, ceil(D / 2^l *
    bits[l-1] / 8)]`. At the defaults (`levels = 4`, `bits = [4, 2, 2, 2]`,
    f16 radius) a block of 16 values takes 8x4 + 4x2 + 2x2 + 1x2 = 46 code
    bits and a 16-bit radius: 62 bits, 3.875 bits per value (exactly, for
    `D` a multiple of 64).

    ```mlir
    %r, %c1, %c2, %c3, %c4 = kvq.polar_encode %k
        : tensor<1x8x?x128xf32> -> tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>,
          tensor<1x8x?x8xi8>, tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8>
    %r2, %a, %b = kvq.polar_encode %k {levels = 2, bits = array<i64: 4, 4>}
        : tensor<1x8x?x128xf32> -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xi8>,
          tensor<1x8x?x16xi8>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "4">:$levels,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{4, 2, 2, 2}">:$bits);
  let results = (outs KVQ_FloatTensor:$radius,
                      Variadic<KVQ_BytesTensor>:$codes);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($radius) `,` type($codes)
  }];
}

def KVQ_PolarDecodeOp : KVQ_PolarOp<"polar_decode"> {
  let summary = "Decode PolarQuant codes into K or V";
  let description = [{
    The inverse of `kvq.polar_encode` with the same `levels` and `bits`:
    top down, a radius `r` whose angle decodes to the centroid `psi` has
    the children `(r cos psi, r sin psi)` at the level below, and the
    children of level 1 are the channels. So channel `c` of a token is
    `radius[c / 2^levels] * prod_l f_l(c)` with `f_l(c)` the cosine (bit
    `l - 1` of `c` clear) or sine (set) of the centroid of level-`l` angle
    `c / 2^l`: the decoder reads compile-time cos / sin tables, no
    transcendental function. Arithmetic is f32; the result is `[B, H, S,
    D]` (`D = 2^levels x` the radius width) of any float type.

    ```mlir
    %k = kvq.polar_decode %r, %c1, %c2, %c3, %c4
        : tensor<1x8x?x8xf16>, tensor<1x8x?x32xi8>, tensor<1x8x?x8xi8>,
          tensor<1x8x?x4xi8>, tensor<1x8x?x2xi8> -> tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins KVQ_FloatTensor:$radius,
                       Variadic<KVQ_BytesTensor>:$codes,
                       DefaultValuedAttr<I64Attr, "4">:$levels,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{4, 2, 2, 2}">:$bits);
  let results = (outs KVQ_FloatTensor:$result);
  let assemblyFormat = [{
    $radius `,` $codes attr-dict `:` type($radius) `,` type($codes) `->`
    type($result)
  }];
}

#endif // KVQ_DIALECT_KVQ_IR_KVQOPS_TD
