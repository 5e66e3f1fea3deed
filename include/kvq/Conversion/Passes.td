//===- Passes.td - kvq conversion passes -------------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_CONVERSION_PASSES_TD
#define KVQ_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// KVQToGPU
//===----------------------------------------------------------------------===//

def KVQGPUAttention : Pass<"kvq-gpu-attention", "ModuleOp"> {
  let summary = "Lower kvq.attention to GPU kernels for NVIDIA GPUs";
  let description = [{
    Rewrites every `kvq.attention` into `gpu.launch` kernels, to be
    outlined and lowered by `kvq-nvvm-pipeline`. Two kernel strategies,
    picked per op by `kernel` (`auto`: decode when the op is decode-shaped,
    prefill otherwise):

    **decode** (a KV head has at most 8 query rows `g * Sq`, `g = Hq /
    Hkv`, static; head dimensions at most 128; no quantized queries):
    flash decoding. Each CTA takes one (batch, KV head) and one split of the
    keys; its `warps` warps each stream their own 16-key tiles through a
    ring of `cp.async` stages in shared memory (16-byte copies, several
    stages in flight), decode K / V codes in registers (`lop3` / `prmt`
    magic-number conversions for i4 / i2 / i8, the hardware FP8 `cvt` from
    sm_89, scales once per group) into tensor-core fragments with the keys
    as the 16 rows and the query rows as the 8 columns of
    `mma.sync.m16n8k16` (S^T = K Q^T, O^T += V^T P^T), and merge their
    partial softmax states through shared memory. The split count fills
    the chip (SM count from `chip`); a second kernel merges the splits. K /
    V produced by `KVDecoderOpInterface` ops, and layouts the register
    decoders do not cover, are decoded into f16 shared-memory tiles first.
    The launch carries the cost model's plan as `kvq.decode_plan`; the
    kernel is compiled for 128 registers per thread.

    **prefill**: flash attention on warp-level tensor cores:

    * rows: as on the CPU, row `r` of a KV head is query position `r / g`,
      head `r % g` (`g = Hq / Hkv`), so the heads sharing a K/V head share
      every K/V read. Each warp owns a tile of 16 rows; a CTA has `warps`
      warps (0: one for decode, where a KV head has at most 16 rows, else
      4). Grid: (row tiles / warps, batch x KV heads, splits).
    * keys: blocks of `block-kv` keys (a multiple of 16, reduced until the
      double buffers fit `shared-memory` bytes) are copied to shared memory
      with `cp.async` (`nvgpu.device_async_copy`, 16-byte copies bypassing
      L1 when rows allow), double buffered: block i + 1 is in flight while
      block i is computed. Quantized K / V are copied as codes (i4 / i2 as
      packed bytes) and decoded in registers, element by element, into the
      f16 mma fragments; no dequantized K / V exists anywhere.
    * math: S = Q K^T and O += P V on `nvgpu.mma.sync` m16n8k16 (f16
      operands, f32 accumulators); Q is pre-scaled by the softmax scale
      times log2(e) so the online softmax uses `exp2` (`ex2.approx`); row
      maxima and sums are reduced across the 4 lanes of a quad with
      shuffles; P goes from the S accumulators to the A operand of P V
      without leaving registers.
    * split-KV: `split-kv` partitions of the key range (0: enough CTAs to
      reach `target-ctas`, at most 64), each writing a partial output and
      its log-sum-exp to device scratch (`gpu.alloc`), merged by a second
      kernel. `split-kv=1` writes the output directly.
    * bottom-right causal masking bounds each CTA's key range; additive
      masks are read per score; fully masked rows output 0, rows whose
      softmax sum is NaN (NaN / inf in a key they see) stay NaN.
    * f16 overflow: unless Q, K and V are f16 arrays (and the scale at
      most 1), a CTA whose f16 pass ends with a non-finite row maximum,
      sum or accumulator (an operand beyond f16's range, or NaN / inf in
      the data) runs its key blocks again with bf16 operands
      (`nvvm.mma.sync` bf16), decided CTA-wide with `bar.red.or`.
    * shared memory: every chunk of a staged block has one writer thread;
      blocks are read after a wait and a barrier, and overwritten only
      after the barrier that ends their reads.

    The schedule of each op is the `kvq.kernel_schedule` it carries
    (`kvq-attention-schedule`, a transform script) or the defaults; the
    GPU knob options of this pass (`block-kv`, `split-kv`, `warps`,
    `stages`, `target-ctas`, `shared-memory`, declared with the other
    knobs in AttentionSchedule.def) replace its knobs when given. Each
    launch records the schedule it used (`kvq.kernel_schedule`, after the
    rounding of `block-kv` and the automatic choices; docs/Schedules.md).

    Target facts (SM count, shared memory, registers, which MMA, copy and
    conversion instructions exist) come from the `chip` (docs/GPU.md lists
    the known chips). Operands must be device memory; the result buffer is
    a `memref.alloc` that `buffer-results-to-out-params` turns into the
    caller's out-parameter. `kvq.quantize` / `kvq.dequantize` left unfused
    are rejected with an error.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "GPU architecture the kernels are built for (sm_80, sm_86, "
           "sm_89, sm_90, sm_90a)">,
    Option<"kernel", "kernel", "std::string", /*default=*/"\"auto\"",
           "Kernel strategy: auto (decode for decode-shaped ops, else "
           "prefill), decode or prefill">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def KVQGPUFoldCopyCasts : Pass<"kvq-gpu-fold-copy-casts"> {
  let summary = "Fold memref.cast into the async copies that read through it";
  let description = [{
    The GPU kernels read K / V through buffers with a fully dynamic strided
    layout (so that any buffer bufferization picks can be cast to it);
    after bufferization most are `memref.cast`s of dense function
    arguments. Canonicalization folds such casts into loads and stores but
    not into `nvgpu.device_async_copy`, whose copies then compute every
    address from dynamic strides. This pass folds a cast into the copies
    that read from (or write to) it when the cast's source is at least as
    static, as canonicalization does for loads: the copies see the dense
    layout and its constant row stride.
  }];
  let dependentDialects = ["::mlir::nvgpu::NVGPUDialect"];
}

def KVQGPUKernelBounds : Pass<"kvq-gpu-kernel-bounds",
                              "::mlir::gpu::GPUModuleOp"> {
  let summary = "Compile outlined kernels for the register budget their schedule assumed";
  let description = [{
    The decode kernel of `kvq-gpu-attention` is scheduled (its occupancy,
    and so the bytes it keeps in flight) for a register budget per thread;
    its body records it as a `kvq.kernel_bounds = {max_registers = N, ...}`
    attribute on an op inside the launch. After kernel outlining, this pass
    moves the budget onto the `gpu.func` as `nvvm.maxnreg` (ptxas's
    `.maxnreg`) and drops the marker, so that ptxas allocates at most that
    many registers (spilling if it must, which the resource checks report).
  }];
}

//===----------------------------------------------------------------------===//
// KVQToLinalg
//===----------------------------------------------------------------------===//

def ConvertKVQToLinalg : Pass<"convert-kvq-to-linalg"> {
  let summary = "Lower kvq's method ops on tensors to linalg, tensor, scf, "
                "arith and math";
  let description = [{
    One conversion for every kvq op other than the attention ops: the
    per-method pattern sets of `kvq/Conversion/KVQToLinalg/KVQToLinalg.h`
    (`populate...Patterns`) applied method by method in a fixed order
    (quantization, low rank, PolySketch, LevAttention, GEAR / xKV, VidKV,
    PolarQuant), then a `ConversionTarget`
    (`configureKVQToLinalgConversionLegality`) that makes each of those ops
    illegal. kvq.attention is
    left to `kvq-tile-attention` / `kvq-gpu-attention` (the pipelines run them
    first, so that decoders feeding an attention are read inside its loops);
    any other kvq op still present afterwards fails the pass with an error at
    the op, naming it, and an op whose lowering needs a static size (a head
    count, the mask's row count, a low-rank result dimension) says which
    before anything is rewritten. Ops lowered by one method and produced by
    another (a GEAR base's `kvq.dequantize`, the projection of a
    `kvq.rotate`) are lowered in the same run.

    **Quantization** (lower quantize, dequantize, pack and unpack to linalg).

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

    **Low rank** (lower kvq.project, kvq.reconstruct and kvq.smooth to linalg).

    Rewrites the low-rank ops and K smoothing on tensors into
    `linalg.generic` contractions and reductions with f32 arithmetic (the
    results rounded to their element types like the NumPy golden model).
    Head `h` uses basis `h / (H / Hb)`; this needs static head counts unless
    a single basis is shared. Run `kvq-fuse` first: it removes the
    reconstructions that feed `kvq.attention`.

    **GEAR and xKV** (lower the GEAR and xKV ops to linalg / scf on tensors).

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

    **PolarQuant** (lower kvq.polar_encode and kvq.polar_decode to linalg).

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

    **VidKV** (lower the VidKV encode / decode ops to linalg).

    `kvq.vidkv_encode_key`: channel ranges (a reduction over the tokens),
    ranks and slots (D x D counting reductions per head), the keys gathered
    in slot order; the high channels get `kvq.quantize`'s 2-bit asymmetric
    numerics with the codes OR-ed into bytes, the low channels a real DFT
    (a contraction with a constant N x N matrix), `mean |r|` per token
    group and sign bits OR-ed into bytes. `kvq.vidkv_decode_key`: the low
    spectrum dequantized, the inverse DFT (a contraction), every channel
    read from its slot. `kvq.vidkv_encode_value`: `mean |v|` per token
    group and base-3 digit sums into bytes; `kvq.vidkv_decode_value` and
    `kvq.vidkv_decode_key_slots`: one elementwise op each;
    `kvq.vidkv_project_query`: a contraction of the queries with the
    constant slot-to-channel matrix, each channel reading the row of its
    slot. Decode ops that feed `kvq.attention` are decoded inside its loop
    instead (`kvq-tile-attention`); this pass lowers the rest.

    **PolySketchFormer** (lower kvq.poly_sketch and kvq.poly_attention).

    PolySketchFormer on tensors to `linalg.generic` contractions in f32:
    the sketch matrices become constants (drawn from the op's seed exactly
    as `kvq.reference.sketch_matrices` draws them); exact polynomial
    attention forms its weights densely; sketched attention contracts the
    queries' features with the state `sum_j phi(k_j) (x) phi(k_j) (x) [v_j,
    1]` (never the `r^2` features of a token), and with `causal` walks the
    queries in blocks (`scf.for`) carrying the state of the keys every row
    of the block sees, adding each block's partially visible keys exactly:
    linear in the sequence length. Needs static head counts.

    **LevAttention** (lower kvq.leverage_scores and kvq.select_keys).

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
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

//===----------------------------------------------------------------------===//
// KVQToCPU
//===----------------------------------------------------------------------===//

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

    The schedule of each op is the `kvq.kernel_schedule` it carries
    (`kvq-attention-schedule`, a transform script) or the defaults; the
    CPU knob options of this pass (`block-kv`, `split-kv`, `block-rows`,
    `vector-width`, declared with the other knobs in AttentionSchedule.def)
    replace its knobs when given. `block-kv` is rounded up to a multiple of
    `vector-width`; the schedule used is recorded on the `scf.parallel` as
    `kvq.kernel_schedule` (docs/Schedules.md).

    With `avx512-bf16`, the prefill kernel computes Q K^T of bf16 queries
    and bf16 keys with AVX512-BF16 dot products (`x86vector.avx512.dot`,
    two head-dim channels per f32 lane; the softmax scale is applied to the
    scores); the products are exact, as in f32, but the instruction
    flushes denormal inputs and results to zero. The target must have
    AVX512-BF16 (`kvq-compile` sets the option from the target CPU).

    `vector-registers` and `register-bits` describe the target's vector
    register file (AVX-512: 32 x 512, the default; AVX2: 16 x 256). They
    size what the kernels keep in registers across their loops (P V's
    accumulators, the prefill micro-tiles, the keys summed by one shuffle
    tree) to half of that file, so that a target with fewer or narrower
    registers does not spill accumulators in its innermost loops.
    `kvq-compile` sets both from the target CPU.

    `int8-nibbles` (for a target with AVX2 and without VNNI: the CPU
    pipeline sets it from its `avx2` and `vnni`): the int8 dot products
    over int8 codes take each biased code `u = code + 128` as two 4-bit
    halves, `u = 16 * hi + lo`, and sum the halves' products apart
    (`16 * hi_sum + lo_sum`). Twice the products, but each pair of them
    fits AVX2's i16 sums, which a whole byte's does not.

    `table-lookup` (for a target with AVX2 or AVX-512: the CPU pipeline
    sets it from its `avx2` and `avx512`): decoders read their codebooks
    with `kvq.lookup`, which `kvq-lower-lookup` makes permutes (one
    `vpermi2ps` per 16 lanes for 32 entries with AVX-512; four `vpermps`
    and three selects per 8 lanes with AVX2), instead of a tree of selects
    over constant vectors: PolarQuant's cosine / sine factor of a level
    with `w`-bit codes is one lookup in a table of `2^(w+1)` entries, the
    lane's choice of cosine or sine being index bit `w`.

    `byte-tables` (for a target with AVX512-VBMI: the CPU pipeline sets it
    from its `avx512-vbmi`): int8 P V over VidKV's values takes each code
    byte's 5 base-3 digits from 5 `kvq.lookup`s in tables of 256 bytes
    over 64 byte lanes (two `vpermi2b` and a select each) instead of a
    multiply-shift division per digit in 16-bit lanes.
  }];
  let options = [
    Option<"avx512BF16", "avx512-bf16", "bool", /*default=*/"false",
           "Use AVX512-BF16 dot products for bf16 Q K^T in prefill">,
    Option<"vectorRegisters", "vector-registers", "int64_t",
           /*default=*/"32",
           "Architectural vector registers of the target (AVX-512: 32, "
           "AVX2: 16)">,
    Option<"registerBits", "register-bits", "int64_t", /*default=*/"512",
           "Bits per vector register of the target (AVX-512: 512, AVX2: "
           "256)">,
    Option<"int8Nibbles", "int8-nibbles", "bool", /*default=*/"false",
           "Int8 dot products split int8 codes into two 4-bit halves, whose "
           "products AVX2 sums in i16 (for a target without VNNI)">,
    Option<"tableLookup", "table-lookup", "bool", /*default=*/"false",
           "Decoders read codebooks with kvq.lookup (for a target where "
           "kvq-lower-lookup makes it a permute: AVX2, AVX-512)">,
    Option<"byteTables", "byte-tables", "bool", /*default=*/"false",
           "Byte tables of 256 entries as kvq.lookup over 64 byte lanes "
           "(for a target where kvq-lower-lookup makes it two vpermi2b: "
           "AVX512-VBMI): VidKV's value digits in int8 P V">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::x86vector::X86VectorDialect"
  ];
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

def KVQLowerDotI8 : Pass<"kvq-lower-dot-i8"> {
  let summary = "Lower kvq.dot_i8 to AVX512-VNNI, AVX2 or portable vector code";
  let description = [{
    With `vnni`, every `kvq.dot_i8` becomes AVX512-VNNI's `vpdpbusd`
    (`llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"` for 16 lanes;
    .256 / .128 for 8 / 4, which need AVX512-VL too); other lane counts are
    an error.

    Otherwise, with `avx2`, an op whose `lhs_bits` / `rhs_bits` keep the
    sum of two byte products within i16 (`(2^lhs_bits - 1) * 2^rhs_bits <=
    32767`: 4-bit codes against int8, say) becomes AVX2's `vpmaddubsw`
    (byte products summed in pairs to i16) and `vpmaddwd` against ones
    (i16 pairs summed to i32), on 256-bit pieces (128-bit when the lane
    count is not a multiple of 8), added to the accumulator. A chain of
    such ops, each the next one's only accumulator use, whose pair bounds
    add up to at most 32767 sums its `vpmaddubsw` results in i16 and widens
    once: the int4 key's two code planes take two `vpmaddubsw`, one
    `vpaddw` and one `vpmaddwd`. Ops whose bounds do not fit, and lane
    counts not a multiple of 4, take the portable code.

    Without either, the op becomes its definition in vector code: the bytes
    extended to i32 (zero- and sign-), multiplied, and the four products of
    each lane summed by strided shuffles, which any target runs.

    The CPU pipeline runs it just before the conversions to LLVM (an
    intrinsic call has no declared memory effects, which buffer
    deallocation rejects and which keeps OpenMP regions' alloca scopes from
    dissolving); `kvq-compile` turns `vnni` and `avx2` on when the target
    CPU has AVX512-VNNI and AVX2.
  }];
  let options = [
    Option<"vnni", "vnni", "bool", /*default=*/"false",
           "Lower to AVX512-VNNI vpdpbusd instead of portable vector code">,
    Option<"avx2", "avx2", "bool", /*default=*/"false",
           "Without vnni, lower ops whose operand bounds keep byte-pair "
           "sums in i16 to AVX2 vpmaddubsw + vpmaddwd">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def KVQLowerLookup : Pass<"kvq-lower-lookup"> {
  let summary = "Lower kvq.lookup to AVX-512 or AVX2 permutes, or portable "
                "vector code";
  let description = [{
    With `avx512`, a `kvq.lookup` whose lane count is a multiple of 16 reads
    each piece of 16 lanes with AVX-512 permutes: a table of up to 16
    elements with one `vpermps` / `vpermd` (`llvm.x86.avx512.permvar.sf.512`
    / `.si.512`; a smaller table is repeated to 16 elements), of 32 with one
    `vpermi2ps` / `vpermi2d` (`llvm.x86.avx512.vpermi2var.ps.512` /
    `.d.512`). Otherwise, with `avx2`, a lane count that is a multiple of 8
    takes pieces of 8 lanes and AVX2's `vpermps` / `vpermd`
    (`llvm.x86.avx2.permps` / `.permd`) over up to 8 elements. A larger
    table is read in such slices, the slice chosen by selects on the
    higher index bits (a 64-element table with AVX-512: two `vpermi2ps`
    and one select).

    Byte lookups (an i8 table read by i8 indices) take, with `vbmi`, pieces
    of 64 lanes and AVX512-VBMI's `vpermb` (`llvm.x86.avx512.permvar.qi.512`,
    up to 64 elements) or `vpermi2b` (`llvm.x86.avx512.vpermi2var.qi.512`,
    128); a table of 256 bytes is two `vpermi2b` and one select on index
    bit 7. The AVX-512 and AVX2 permutes above are for 32-bit elements and
    indices only.

    Other ops become the definition in vector code: the table's elements
    broadcast and a tree of `N - 1` selects on the index bits, which any
    target runs.

    The CPU pipeline runs it next to `kvq-lower-dot-i8`, for the same
    reason; `kvq-compile` turns `avx512` and `avx2` on when the target CPU
    has AVX-512 (AVX512F) and AVX2.
  }];
  let options = [
    Option<"avx512", "avx512", "bool", /*default=*/"false",
           "Lower lookups over multiples of 16 lanes to AVX-512 vpermps / "
           "vpermi2ps">,
    Option<"vbmi", "vbmi", "bool", /*default=*/"false",
           "Lower byte lookups (i8 tables and indices) over multiples of 64 "
           "lanes to AVX512-VBMI vpermb / vpermi2b">,
    Option<"avx2", "avx2", "bool", /*default=*/"false",
           "Lower lookups over multiples of 8 lanes to AVX2 vpermps "
           "(without avx512, or where the lanes are not a multiple of 16)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::vector::VectorDialect"
  ];
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

//===----------------------------------------------------------------------===//
// KVQToGPU: helper passes around the kernels
//===----------------------------------------------------------------------===//

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
    attribute `kvq.host` (the shape functions that kvq-wrap-entry-points
    adds for a library's entry points) are left on the host.
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

#endif // KVQ_CONVERSION_PASSES_TD
