//===- Passes.td - kvq transformation passes ---------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD
#define KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KVQFuse : Pass<"kvq-fuse"> {
  let summary = "Fuse dequantization, low-rank reconstruction, VidKV keys and GEAR's low-rank term into kvq.attention";
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

    Low-rank caches stay low rank:

    * `attention(q, reconstruct(k', U, mu), v)` becomes
      `attention(project(q, U), k', v)` with the original scale: `q . (U k'
      + mu) = (U^T q) . k' + q . mu`, and `q . mu` shifts every score of a
      row equally, which softmax ignores;
    * `attention(q, k, reconstruct(v', U, mu))` becomes
      `reconstruct(attention(q, k, v'), U, mu)` (softmax rows sum to 1).
      With a mean this needs rows that cannot be fully masked (such rows
      output 0, not `mu`): no mask, and causal only when `Sq <= Skv` is
      known.

    Both compose with quantization: `k'` may itself be a `kvq.dequantize`,
    which is then fused as above.

    VidKV keys are read in slot coordinates: `attention(q,
    vidkv_decode_key(hc, hs, hm, lc, ls, ch), v)` becomes
    `attention(vidkv_project_query(q, ch), vidkv_decode_key_slots(
    dequantize(unpack(hc), hs, hm), lc, ls), v)` with the original scale. A
    VidKV key is a fixed linear map of its slots (the identity on the high
    ones, the inverse DFT on the low ones, then the head's channel
    permutation), so the map moves onto the query: the inverse DFT runs
    once per query row instead of once per key, and the high slots are
    KIVI 2-bit codes read like any quantized key. This needs whole bytes of
    high codes (`n_high` a multiple of 4, as with the default ratio 0.5 and
    `D` a multiple of 8); otherwise the key decoder stays as it is.

    GEAR's low-rank term leaves the key loop the same way: `attention(q,
    gear_decode(base, a, b, idx, vals), v)` becomes attention of `[q, q
    b^T]` over `[gear_decode(base, -, -, idx, vals), a]` (concatenated
    along the channels, which attention decodes in its loop) with the
    original scale; a GEAR value becomes an attention over the same kind of
    concatenation whose last `R` output channels are multiplied by `b` and
    added to the first `Dv` once per row. Both need `D + R` (`Dv + R`) to be
    a multiple of 4, the GPU kernels' block of channels.
  }];
  let dependentDialects = ["::mlir::kvq::KVQDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KVQAbsorbLatentAttention : Pass<"kvq-absorb-latent-attention"> {
  let summary = "Rewrite MLA with absorbed up-projections";
  let description = [{
    `kvq.latent_attention` becomes `kvq.project` of the queries by `w_uk`,
    one `kvq.attention` of all heads over the latent cache as a single
    shared K/V head (keys: cache rows `[c, r]`, values: the latent part `c`,
    an `extract_slice` view of the same cache) with the original scale, and
    `kvq.reconstruct` of its output by `w_uv`. No per-head key or value is
    formed, and each token of the cache is read once for all heads (the
    DeepSeek-V3 / FlashMLA decode formulation).
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def KVQLegalizeABI : Pass<"kvq-legalize-abi", "ModuleOp"> {
  let summary = "Pass i4 / i2 tensors across function boundaries as "
                "packed bytes";
  let description = [{
    The kernel ABI passes sub-byte codes packed in bytes: upstream
    narrow-type emulation in LLVM 22 cannot convert `memref<...xi4>`
    function arguments. For every `func.func` with a body, each argument
    of type `tensor<...xi4>` / `tensor<...xi2>` becomes the packed
    `tensor<...xi8>` (last dimension `* bits / 8`) and is unpacked with
    `kvq.unpack` on entry; each such result is packed with `kvq.pack`
    before every `func.return`. `func.call`s of the rewritten functions are
    updated to pack their operands and unpack their results, so the module
    stays consistent.

    ```mlir
    func.func @f(%c: tensor<4x64xi4>) -> tensor<4x64xi4>
    // becomes
    func.func @f(%b: tensor<4x32xi8>) -> tensor<4x32xi8> {
      %c = kvq.unpack %b : tensor<4x32xi8> -> tensor<4x64xi4>
      ...
      %r = kvq.pack %x : tensor<4x64xi4> -> tensor<4x32xi8>
      return %r : tensor<4x32xi8>
    }
    ```

    The last dimension must be static and a multiple of `8 / bits`; an
    argument or result that breaks this rule is reported by name and the
    pass fails without changing the module. Function declarations are left
    alone.

    Splat constants of i1 / i2 / i4 elements (the `dense<true>` that
    importers build causal masks from) become `linalg.fill`s: a buffer
    filled in place, where the constant would be a `memref.global` that the
    narrow-type emulation cannot read.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::kvq::KVQDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KVQWrapEntryPoints : Pass<"kvq-wrap-entry-points", "::mlir::ModuleOp"> {
  let summary = "Prepare every public function for the C ABI of a kernel "
                "library";
  let description = [{
    A kernel library exports every public function with a body through
    the C ABI of `kvq_abi.h` (docs/ABI.md): the entry point `f` checks the
    `kvq_buffer`s it is given and calls the kernel, and `f_output_shapes`
    returns the dynamic output dims. This pass prepares the module for that
    ABI; `kvq-compile` runs it after inlining, before the pipeline, and
    writes the C wrapper from what it leaves in the IR.

    For every exported function:

    - its C symbol is chosen: the function's name where that is a C
      identifier that clashes with nothing (C keywords, `main`, names C or
      the kvq ABI reserves, C library functions, the module's other
      symbols), else `<library-name>_<name>` with `_` for every other
      character, made unique with `_2`, `_3`, ...;
    - it is renamed `__kvq_kernel_<symbol>` and gets a C interface
      (`llvm.emit_c_interface`); its tensor arguments are marked
      `bufferization.writable = false`, so that the kernel never writes
      into an input;
    - where it has dynamic dims, a shape function
      `__kvq_shape_<symbol>` (marked `kvq.host`, so that it stays on the
      host in GPU libraries) is added: a copy of the function that stores
      into a trailing `memref<N x index>` the dynamic dims of its results,
      then one flag per linalg or kvq op that needs its dynamic operand dims
      to agree (1 when they do: the loop dims of a linalg op, the shapes a
      kvq op's verifier describes). The copy is folded with upstream's
      `resolve-shaped-type-result-dims` (every kvq op reifies its result
      shapes), canonicalization and CSE until it reads only the inputs'
      dims; when it cannot be, no shape function is added and a warning
      says what the entry point will not check;
    - the kernel is marked `kvq.entry_point`, a dictionary of its MLIR
      `name`, its C `symbol`, its `shape_function` and the number of
      `shape_checks` (when it has one) and its `output_shapes_symbol`
      (absent when dynamic output dims cannot be computed).

    ```mlir
    func.func @scale(%x: tensor<?x16xf32>) -> tensor<?x16xf32>
    // becomes
    func.func @__kvq_kernel_scale(%x: tensor<?x16xf32> {bufferization.writable = false})
        -> tensor<?x16xf32> attributes {kvq.entry_point = {name = "scale",
          output_shapes_symbol = "scale_output_shapes",
          shape_checks = 0 : i64, shape_function = @__kvq_shape_scale,
          symbol = "scale"}, llvm.emit_c_interface}
    func.func @__kvq_shape_scale(%x: tensor<?x16xf32> {bufferization.writable = false},
        %slots: memref<1xindex>) attributes {kvq.host, llvm.emit_c_interface} {
      %c0 = arith.constant 0 : index
      %dim = tensor.dim %x, %c0 : tensor<?x16xf32>
      memref.store %dim, %slots[%c0] : memref<1xindex>
      return
    }
    ```

    Shape functions take i4 / i2 arguments as the bytes the ABI passes
    (packed along the last dim), as they read only the other dims.

    Errors: a value whose static dims hold more bytes than an `int64_t`
    can count (anywhere in the module), a module with no public function to
    export, a signature the ABI cannot express (unranked or encoded
    tensors, memrefs with a layout or memory space, element types outside
    the ABI, scalar results, i1 scalars, sub-byte codes of rank 0), and
    symbols that use the ABI's prefix `__kvq_`.
  }];
  let options = [
    Option<"libraryName", "library-name", "std::string",
           /*default=*/"\"kernel\"",
           "The library's name: the prefix of C symbols for functions whose "
           "name cannot be exported as it is">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::index::IndexDialect",
                           "::mlir::kvq::KVQDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KVQCompressKV : Pass<"kvq-compress-kv", "::mlir::ModuleOp"> {
  let summary = "Compress the K and V of every kvq.attention by a per-layer policy";
  let description = [{
    Applies a compression policy to the K and V operands of every
    `kvq.attention` with floating-point K / V: the operand `x` becomes
    `kvq.dequantize(kvq.quantize(x))` with the policy's scheme. This is
    the cache write and the cache read. `kvq-fuse` then folds the
    dequantization into the attention, so the attention reads the codes.

    The policy is JSON, given inline (`policy`) or as a file
    (`policy-file`). On a command line,
    `-kvq-compress-kv='policy={"default": {...}}'` works as written (the
    option syntax drops the outer braces; the pass restores them).

    ```json
    {
      "default":   {"k": "#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>",
                    "v": "#kvq.quant<i4, asymmetric, group(axis = 3, size = 32), scale = f16>"},
      "layers":    {"0": {"k": null, "v": null}},
      "functions": {"decode": {"default": {"v": "#kvq.quant<i8, symmetric, token>"},
                               "layers": {"3": {"k": "#kvq.quant<i8, symmetric, token>"}}}}
    }
    ```

    * A scheme is the text of a `#kvq.quant` attribute. `null` keeps the
      operand uncompressed. An absent `k` / `v` inherits the next level.
    * Layer `i` of a function is its attention op with the integer
      attribute `kvq.layer = i`, else its `i`-th `kvq.attention` in
      program order, counted from 0.
    * Precedence, most specific first: `functions.F.layers.i`,
      `functions.F.default`, `layers.i`, `default`.

    Attention operands that are already quantized are left alone. Errors
    name the policy entry and are located in the policy file
    (`policy.json:3:14`; an inline policy is `<kvq-compress-kv policy>`):

    * malformed JSON, and an empty policy file;
    * an unknown key, a key that appears twice in one object, or a value
      of the wrong kind;
    * a scheme that does not parse; one that does not fit the operand is
      reported at the attention, with a note at the entry;
    * an entry that matches no attention: a layer no function has, a
      function the module does not have (or that has no `kvq.attention`),
      a `functions.F.layers.i` that `F` does not have, or any entry when the
      module has no attention at all. The error lists the functions and
      their layers.
  }];
  let options = [
    Option<"policy", "policy", "std::string", /*default=*/"\"\"",
           "Policy JSON text">,
    Option<"policyFile", "policy-file", "std::string", /*default=*/"\"\"",
           "Path of a policy JSON file">,
  ];
  let dependentDialects = ["::mlir::kvq::KVQDialect"];
}

def KVQExpandSageAttention : Pass<"kvq-expand-sage-attention", "ModuleOp"> {
  let summary = "Expand kvq.sage_attention into smoothing, quantization and "
                "kvq.attention";
  let description = [{
    Rewrites every `kvq.sage_attention` into the run-time pre-pass of
    SageAttention2 and one `kvq.attention` over quantized operands:

    * `smooth_k`: `kvq.smooth` of K (f32 centered keys `Kc`, mean `km`);
    * `smooth_q`: q-bar, the f32 mean of each group of 128 query rows of a
      head (a ragged last group averages its own rows), `Qc = Q - q-bar`
      and `Delta-S[b, h, g, j] = q-bar[b, h, g] . Kc[b, h / (Hq/Hkv), j]`
      in f32 (linalg; needs static head counts);
    * `kvq.quantize` of `Qc` and `Kc` to `qk` with the granularity's
      schemes (`block`: Q `block(rows = 128, cols = D)`, K `block(rows =
      64, cols = D)`; `warp`: Q `block(rows = 32, cols = D)`, K as
      `block`; `thread`: Q `fragment(rows = 32, period = 8, run = 1)`, K
      `fragment(rows = 64, period = 8, run = 2)`), and of V to
      `#kvq.quant<f8E4M3FN, symmetric, channel>` (`pv = f8E4M3FN`; V is
      rounded to f16 for `pv = f16`);
    * `kvq.attention` with those operand groups, `delta_s` /
      `delta_s_rows = 128` (when smoothing queries) and `p_type = pv`.

    ```mlir
    %o = kvq.sage_attention q(%q : tensor<1x2x?x64xf32>)
        k(%k : tensor<1x2x?x64xf32>) v(%v : tensor<1x2x?x64xf32>)
        -> tensor<1x2x?x64xf32>
    // becomes kvq.smooth, linalg (q-bar, Q - q-bar, Delta-S), three
    // kvq.quantize and
    %o = kvq.attention q(%qc : tensor<1x2x?x64xi8>, #kvq.quant<i8,
        symmetric, fragment(rows = 32, period = 8, run = 1)>, scale ...)
        k(...) v(...) delta_s(%ds : tensor<1x2x?x?xf32>)
        {delta_s_rows = 128 : i64, p_type = f8E4M3FN} -> tensor<1x2x?x64xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kvq::KVQDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def KVQOutlineKernels : Pass<"kvq-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Outline each compute op into a function shared by identical "
                "ops";
  let description = [{
    A model graph repeats its layers: every layer's projections, attention
    and elementwise ops are the same ops on different weights. Lowered as
    they are, they make one function that grows with the depth, each layer
    compiled again, and LLVM's cost on one huge function grows faster than
    its size. This pass outlines every compute op at the top level of a
    function body (linalg ops but `linalg.fill`, and the side-effect-free
    kvq ops on tensors, with statically shaped results) into a private
    function, together with what it can
    recompute for free: `tensor.empty`, `linalg.fill`, scalar and splat
    constants, reshapes and slices of its operands, index arithmetic. Its
    other operands become arguments, but for tensors of i1 / i2 / i4, which
    buffers hold packed: their producers are computed in the function too
    (an op producing one is not outlined by itself), so that no packed
    buffer crosses a call. Functions whose bodies are identical
    (op for op, attributes and types included) are created once: N layers
    then share one function per distinct op. The functions are marked
    `noinline` (LLVM `passthrough`) so that LLVM compiles each once.

    Tensor semantics are kept: one-shot bufferization across the calls
    gives each function its argument buffers and turns its results into
    out-parameters.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let statistics = [
    Statistic<"numOutlined", "num-outlined", "Ops outlined">,
    Statistic<"numFunctions", "num-functions", "Functions created">
  ];
}

def KVQAttentionSchedule : Pass<"kvq-attention-schedule",
                                 "::mlir::ModuleOp"> {
  let summary = "Attach the kernel schedule to every kvq.attention";
  let description = [{
    Sets `kvq.kernel_schedule = #kvq.schedule<target, ...>` on every
    `kvq.attention`: the schedule the attention lowerings of `target`
    (`kvq-tile-attention` for `cpu`, `kvq-gpu-attention` for `gpu`) then
    read. Each op starts from the schedule it already carries (one a
    transform script or the input set, without a target or for this
    target) or else from the defaults; the knob options given explicitly
    (`block-kv`, `split-kv`, `block-rows`, `vector-width`, `warps`,
    `stages`, `target-ctas`, `shared-memory`: AttentionSchedule.def, listed
    by `kvq-opt --help`) replace its knobs. A knob the target's kernels do
    not read is an error, as is a schedule out of its ranges (reported at
    the op).

    The pipelines run this pass with their knob options before lowering
    attention, so `--mlir-print-ir-after=kvq-attention-schedule` shows the
    schedule of every op. The lowerings apply their target's rounding
    (docs/Schedules.md) and attach the schedule they used to the loops or
    launches they build.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "The kernels the schedule is for: cpu or gpu">
  ];
}

def KVQRaiseAttention : Pass<"kvq-raise-attention"> {
  let summary = "Raise scaled dot-product attention written as linalg / "
                "tosa ops to kvq.attention";
  let description = [{
    Importers (torch-mlir's linalg-on-tensors backend, IREE's input
    conversion, tosa) write attention as `softmax(Q K^T * scale + mask) V`
    spelled out in contractions, a softmax and elementwise ops. This pass
    matches that pattern from the final `P V` contraction backwards and
    replaces it with `kvq.attention` (docs/Raising.md lists every form):

    * contractions: `linalg.matmul`, `linalg.batch_matmul` (also with
      transposed `indexing_maps`), contraction `linalg.generic`s with any
      number of batch dims, `tosa.matmul`;
    * the softmax over the key dim: `linalg.softmax`, or max / subtract /
      exp / sum / divide (or multiply by the reciprocal) as linalg named
      ops, `linalg.generic`s (a max that also computes the argmax, keepdim
      reshapes of the row statistics) or tosa ops, in any float type
      between float casts of the scores and the probabilities, and
      PyTorch's guard that zeroes rows whose scores are all `-inf`;
    * splat scales of Q, K or the scores, before or after the mask (a
      scale after the mask scales the mask), constants cast in the body
      folded as the cast rounds them; one additive mask broadcast along
      any batch, head or query dim;
    * batch and head dims split and merged anywhere between the operands,
      the contractions, the softmax and the result (`[B * H, S, D]`
      contractions around a `[B, H, S, S]` softmax, unit dims folded away),
      through reshapes, transposes and copies; K / V whose heads are
      repeated for grouped-query attention (broadcast then collapsed in any
      grouping, `repeat_interleave`, HuggingFace's `repeat_kv`,
      `tosa.tile`) are read with their `Hkv` heads.

    ```mlir
    %s = linalg.batch_matmul indexing_maps = [...] ins(%q, %k ...)   // Q K^T
    %p = linalg.softmax dimension(2) ins(%s ...) outs(...)
    %o = linalg.batch_matmul ins(%p, %v ...) outs(%zero ...)
    // becomes
    %o4 = kvq.attention q(%q4 ...) k(%k4 ...) v(%v4 ...) {scale = 1.0 : f32}
    %o = tensor.collapse_shape %o4 [[0, 1], [2], [3]] ...
    ```

    Every structural fact is checked (the role of every dim, element
    types, reductions and their initial values, broadcasts, splat values,
    zero accumulators, the intermediates having no other use); a pattern
    that fails any check is left untouched. With `report`, every softmax
    that is not raised gets a remark naming the check that failed: at its
    `P V` contraction, or at the softmax when no contraction with V
    follows it. Rows whose keys are all masked with `-inf` become zeros
    (kvq.attention's convention, and PyTorch's) instead of NaN.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark at each near-miss saying why it was not raised">
  ];
  let dependentDialects = [
    "::mlir::kvq::KVQDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD
