//===- Passes.td - kvq transformation passes ---------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD
#define KVQ_DIALECT_KVQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KVQFuse : Pass<"kvq-fuse"> {
  let summary = "Fuse dequantization and low-rank reconstruction of K/V into kvq.attention";
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

def KVQTileAttention : Pass<"kvq-tile-attention", "ModuleOp"> {
  let summary = "Flash-style tiled lowering of kvq.attention for the CPU";
  let description = [{
    Rewrites every `kvq.attention` into a loop nest over buffers with an
    online softmax over blocks of keys:

    * the queries of the `Hq / Hkv` heads that share a key/value head are
      processed together (row `r` of a KV head is query position `r / g`,
      head `r % g`), in tiles of `block-rows` rows, so each K and V row is
      read once per tile and decoded once for all of them;
    * keys are visited in blocks of `block-kv`; per block the scores of the
      tile are computed, the running maximum and normaliser are updated and
      the accumulator is rescaled once (online softmax); a ragged last block
      is handled by its bound, never by padding the cache;
    * with `causal`, the key loop of a tile stops at the last key any of its
      rows may see, so fully masked blocks are never read;
    * the key range is cut into `split-kv` partitions (0: automatic, enough
      for 32 work items when a KV head has one row tile, as in decode)
      that run in parallel and whose partial maxima, normalisers and
      accumulators are combined at the end (split-KV / flash-decoding);
    * quantized K and V are decoded in registers, `vector-width` values at a
      time, right after loading their codes: i4 / i2 codes are read as
      packed bytes and split into one vector per field with a shift and a
      mask (the query rows are kept in the key's field order, the
      accumulators in the value's, and put back in channel order at the
      output). No dequantized K or V buffer spanning the keys is allocated;
    * shapes with at least `vector-width` rows per KV head (prefill) use a
      register-blocked kernel: tiles of `2 * vector-width` rows, scores as
      keys x rows with the lanes over the rows (micro-tiles of 8 keys x 2
      row vectors against the transposed query tile), the online softmax
      down the columns, P V by micro-tiles of 4 rows x 4 value vectors, and
      each block of K / V decoded once per tile into a block-sized scratch
      (plain f32 read in place). Masks, Delta-S, rounded probabilities and
      quantized queries keep the per-key kernel.

    The result is scf + vector + memref code; it is bridged back to tensors
    with `bufferization.to_buffer` / `to_tensor`, so one-shot bufferization
    of the rest of the function follows as usual.
  }];
  let options = [
    Option<"blockKV", "block-kv", "int64_t", /*default=*/"64",
           "Keys per block of the online-softmax loop">,
    Option<"blockRows", "block-rows", "int64_t", /*default=*/"4",
           "Query rows (head x position) processed together">,
    Option<"splitKV", "split-kv", "int64_t", /*default=*/"0",
           "Partitions of the key range, run in parallel and combined at "
           "the end (0: automatic)">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector (16 for AVX-512)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def KVQLowerLowRank : Pass<"kvq-lower-low-rank"> {
  let summary = "Lower kvq.project, kvq.reconstruct and kvq.smooth to linalg";
  let description = [{
    Rewrites the low-rank ops and K smoothing on tensors into
    `linalg.generic` contractions and reductions with f32 arithmetic (the
    results rounded to their element types like the NumPy golden model).
    Head `h` uses basis `h / (H / Hb)`; this needs static head counts unless
    a single basis is shared. Run `kvq-fuse` first: it removes the
    reconstructions that feed `kvq.attention`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
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

def KVQLowerPolyAttention : Pass<"kvq-lower-poly-attention"> {
  let summary = "Lower kvq.poly_sketch and kvq.poly_attention";
  let description = [{
    PolySketchFormer on tensors to `linalg.generic` contractions in f32:
    the sketch matrices become constants (drawn from the op's seed exactly
    as `kvq.reference.sketch_matrices` draws them); exact polynomial
    attention forms its weights densely; sketched attention contracts the
    queries' features with the state `sum_j phi(k_j) (x) phi(k_j) (x) [v_j,
    1]` (never the `r^2` features of a token), and with `causal` walks the
    queries in blocks (`scf.for`) carrying the state of the keys every row
    of the block sees, adding each block's partially visible keys exactly:
    linear in the sequence length. Needs static head counts.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def KVQLowerLeverage : Pass<"kvq-lower-leverage"> {
  let summary = "Lower kvq.leverage_scores and kvq.select_keys";
  let description = [{
    LevAttention on tensors: the Gram matrix `K^T K` of each head (a
    reduction over the keys), plus the op's relative ridge, inverted by
    Gauss-Jordan elimination (an `scf.for` over the D pivots, one
    elementwise `linalg.generic` over every head per pivot), then `tau_j =
    k_j^T G^-1 k_j` (a second pass over the keys), all in f64; the
    workspace is D x D per head whatever the sequence length.
    `kvq.select_keys` becomes an elementwise threshold into an additive
    mask.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def KVQGPUMapLoops : Pass<"kvq-gpu-map-loops", "ModuleOp"> {
  let summary = "Run the bufferized loops around the attention kernels on the GPU";
  let description = [{
    The GPU path for everything `kvq-gpu-attention` does not turn into a
    tuned kernel: the prefill-side method ops (encoders, outlier extraction,
    low-rank approximation, bases, leverage scores, poly attention,
    run-time quantization) and any linalg around them, once they are
    lowered to linalg, bufferized and converted to parallel loops
    (`convert-linalg-to-parallel-loops`). On each function, outside the
    existing `gpu.launch` ops:

    * `memref.copy` becomes an element-wise parallel loop;
    * every outermost `scf.parallel` becomes a `gpu.launch`: its iteration
      space is linearized (innermost dimension fastest, so neighbouring
      threads touch neighbouring elements), each thread runs one iteration
      under a bounds check; nested loops (reductions) run sequentially in
      the thread;
    * remaining host code that reads or writes memory (a scalar store, a
      loop over a reduction with no parallel dimension) runs in a
      single-thread `gpu.launch`; host code that needs a value loaded from
      memory is reported, with its location;
    * `memref.alloc` / `memref.alloca` become `gpu.alloc`, freed with
      `gpu.dealloc` at the end of their block (a buffer escaping its block
      is reported);
    * `memref.get_global` used by kernels moves into them, so that outlining
      copies the constant into the GPU module.

    Launches are synchronous and run in program order; the generated
    kernels are plain and untuned (one thread per element). The attention
    kernels keep their own launch configuration. Functions with the unit
    attribute `kvq.host` (the output-shape functions of kvq-compile's
    entry points) are left on the host.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of the element-wise kernels">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def KVQEmulateGPUKernels : Pass<"kvq-emulate-gpu-kernels", "ModuleOp"> {
  let summary = "Run NVVM GPU kernels on the host with the GPU emulator "
                "(testing without a GPU)";
  let description = [{
    Takes the `gpu.module`s as `convert-gpu-to-nvvm` lowered them (LLVM
    dialect with NVVM ops, what NVPTX would compile) and makes their
    kernels host code run by the GPU emulator runtime
    (`libkvq_gpu_emulator`, `include/kvq/Runtime/kvq_gpu_emulator.h`):

    * NVVM ops become calls of the runtime: special registers
      (`__kvq_emu_sreg_tid_x`, ...), `barrier0` / `barrier`
      (`__kvq_emu_barrier`), `shfl.sync`, `vote.sync`, `bar.warp.sync`,
      `mma.sync` (f16 / bf16 m16n8k16 and m16n8k8, tf32, s8 / u8, f64; the
      lane's registers pass through scratch arrays), `ldmatrix` (m8n8 b16),
      `cp.async.shared.global` and its commit / wait groups, and the NVVM
      intrinsics without a host equivalent (`ex2.approx`, `lg2.approx`,
      ...);
    * shared memory (address space 3) becomes the runtime's per-CTA memory:
      each shared global is an offset from `__kvq_emu_shared_base()` (static
      globals in order, dynamic ones after them), and every shared load,
      store and atomic first passes its address to
      `__kvq_emu_shared_access` (bounds, alignment, race checks);
    * address spaces are erased, NVVM attributes dropped, and the module's
      functions move into the host module (renamed, internal), with one
      entry `void entry(void **params)` per kernel that unpacks the
      parameter array `mgpuLaunchKernel` receives and calls it, registered
      with the runtime by a global constructor;
    * the `gpu.module` becomes a `gpu.binary` whose object names it, so the
      host code (`gpu-to-llvm`'s module loading, launches, streams,
      allocations) is the same as for a GPU.

    Other NVVM ops or intrinsics, inline assembly, calls of external
    functions the runtime does not provide (it implements the libdevice
    math functions) and shared-memory accesses it could not check are
    errors naming the op.

    `kvq-nvvm-emulation-pipeline` runs it instead of `gpu-module-to-binary`.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::NVVM::NVVMDialect"
  ];
}

def KVQCheckDeviceBuffers : Pass<"kvq-check-device-buffers", "ModuleOp"> {
  let summary = "Check that GPU kernels only capture device buffers";
  let description = [{
    After bufferization, reports every buffer captured by a `gpu.launch`
    that is not known to be device memory: a function argument (device
    pointers by the GPU ABI), a `gpu.alloc`, or a view of one. A host
    `memref.alloc` reaching a kernel (for example an output whose
    allocation could not become an out-parameter) is an error with its
    location, not a fault at run time.
  }];
}

def KVQExternDynamicSharedMemory
    : Pass<"kvq-extern-dynamic-shared-memory", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Declare dynamic shared memory `.extern` in PTX";
  let description = [{
    `convert-gpu-to-nvvm` lowers `gpu.dynamic_shared_memory` to a zero-sized
    address-space-3 `llvm.mlir.global` with internal linkage, which the
    NVPTX backend prints as a 1-byte static `.shared` variable, so kernels
    address the dynamic region relative to the static area. This pass gives
    such globals external linkage, so that PTX declares them like CUDA does:
    `.extern .shared .align 16 .b8 __dynamic_shmem__0[]`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KVQOpenMPSchedule : Pass<"kvq-openmp-schedule"> {
  let summary = "Set the schedule of OpenMP worksharing loops";
  let description = [{
    Gives every `omp.wsloop` without a `schedule` clause the schedule
    `kind` (`dynamic` by default, chunk `chunk`; 0 leaves the chunk to the
    runtime). `convert-scf-to-openmp` creates loops without a schedule, which
    OpenMP runtimes run statically: each thread gets an equal share of the
    iterations up front, so a thread that the OS deschedules (a loaded
    machine) or that draws the costly iterations (causal attention) holds up
    the whole loop. With `dynamic`, threads take iterations as they finish.
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"dynamic\"",
           "Schedule kind: static, dynamic or guided">,
    Option<"chunk", "chunk", "int64_t", /*default=*/"0",
           "Iterations per chunk (0: the runtime's default)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::omp::OpenMPDialect"
  ];
}

def KVQApproximateMath : Pass<"kvq-approximate-math"> {
  let summary = "Replace math.exp and friends by vectorizable polynomials";
  let description = [{
    Applies MLIR's polynomial approximations of `math` ops (exp, log, tanh,
    ...) so that vector code stays vectorized on CPUs instead of calling
    the scalar libm once per lane.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def KVQLowerQuant : Pass<"kvq-lower-quant"> {
  let summary = "Lower quantize, dequantize, pack and unpack to linalg";
  let description = [{
    Rewrites the standalone quantization ops on tensors into `linalg` on
    tensors plus `arith` / `math` scalar code, for every scheme
    `#kvq.quant` allows, reproducing `python/kvq/reference.py` bit for bit
    (see docs/Quantization.md):

    * `kvq.quantize`: a `linalg.generic` reduction computes the statistics
      of every block (max |x|, or min and max, over finite values) into a
      scale-shaped f32 tensor, an elementwise `linalg.generic` turns them
      into scales (and zero points) rounded to the scale type, and a third
      one encodes every element with the scale of its block. Blocks are
      addressed with indexing maps (`d floordiv extent`, or the constant 0
      for a dimension covered whole), so ragged last blocks and dynamic
      dimensions need no special case;
    * `kvq.dequantize`: one elementwise `linalg.generic`;
    * `kvq.pack` / `kvq.unpack`: `tensor.expand_shape` /
      `tensor.collapse_shape` of the last dimension into
      `[bytes, codes per byte]` and a `linalg.generic` that ORs / shifts
      the codes.

    FP8 codes are produced and read with integer arithmetic, so no FP8
    arithmetic reaches LLVM. The result bufferizes with
    `one-shot-bufferize`; run `kvq-legalize-abi` first so that no i4 / i2
    tensor crosses a function boundary.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
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

def KVQLowerGear : Pass<"kvq-lower-gear"> {
  let summary = "Lower the GEAR and xKV ops to linalg / scf on tensors";
  let description = [{
    `kvq.extract_outliers`: the rank of every entry of a token by
    magnitude (a quadratic reduction over the head dimension), then the
    remainder and the `count` first entries. `kvq.low_rank_approx` and
    `kvq.cross_layer_basis`: the Gram matrix of each head in f64 (a
    reduction over the tokens), subspace iteration from the seeded
    Gaussian start compiled as a constant (an `scf.for` over the
    iterations, each orthonormalized by classical Gram-Schmidt twice, an
    `scf.for` over the columns with one `linalg.generic` per step over all
    heads), then the coordinates (a second pass over the tokens).
    `kvq.gear_decode`: the base plus a contraction over the rank plus the
    scattered outliers, elementwise. The workspace is D x D (G D x G D for
    xKV) per head whatever the sequence length.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
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

def KVQLowerVidKV : Pass<"kvq-lower-vidkv"> {
  let summary = "Lower the VidKV encode / decode ops to linalg";
  let description = [{
    `kvq.vidkv_encode_key`: channel ranges (a reduction over the tokens),
    ranks and slots (D x D counting reductions per head), the keys gathered
    in slot order; the high channels get `kvq.quantize`'s 2-bit asymmetric
    numerics with the codes OR-ed into bytes, the low channels a real DFT
    (a contraction with a constant N x N matrix), `mean |r|` per token
    group and sign bits OR-ed into bytes. `kvq.vidkv_decode_key`: the low
    spectrum dequantized, the inverse DFT (a contraction), every channel
    read from its slot. `kvq.vidkv_encode_value`: `mean |v|` per token
    group and base-3 digit sums into bytes; `kvq.vidkv_decode_value`: one
    elementwise op. Decode ops that feed `kvq.attention` are decoded inside
    its loop instead (`kvq-tile-attention`); this pass lowers the rest.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def KVQLowerPolar : Pass<"kvq-lower-polar"> {
  let summary = "Lower kvq.polar_encode and kvq.polar_decode to linalg";
  let description = [{
    PolarQuant on tensors. Encoding: per level one `linalg.generic` over the
    pairs of the level below (f64 `atan2`, the code as the number of
    compile-time codebook boundaries below the angle, the pair's radius),
    then one packing the codes LSB first into bytes. Decoding: one
    elementwise `linalg.generic` over `[B, H, S, D]`, channel `c` being its
    block's radius times, per level, the cosine or sine (bit `l - 1` of `c`)
    of the centroid its code selects, read from compile-time f32 tables.
    The codebooks are the Lloyd-Max quantizers of the analytic angle
    densities (`lib/Dialect/KVQ/Utils/Polar.cpp`, equal to
    `kvq.reference.polar_codebook` to rounding). Run `kvq-fuse` and the
    attention lowering first: a `kvq.polar_decode` feeding `kvq.attention`
    is decoded inside its loop instead.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
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
