//===- KVQAttrs.td - kvq attributes ------------------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQATTRS_TD
#define KVQ_DIALECT_KVQ_IR_KVQATTRS_TD

include "kvq/Dialect/KVQ/IR/KVQBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def KVQ_Granularity : I32EnumAttr<"Granularity",
    "the region of a tensor that shares one scale (and zero point)", [
      I32EnumAttrCase<"Tensor", 0, "tensor">,
      I32EnumAttrCase<"Token", 1, "token">,
      I32EnumAttrCase<"Channel", 2, "channel">,
      I32EnumAttrCase<"Group", 3, "group">,
      I32EnumAttrCase<"Block", 4, "block">,
      I32EnumAttrCase<"Fragment", 5, "fragment">
    ]> {
  let cppNamespace = "::mlir::kvq";
  let genSpecializedAttr = 0;
}

class KVQ_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<KVQ_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def KVQ_QuantSchemeAttr : KVQ_Attr<"QuantScheme", "quant"> {
  let summary = "An integer or FP8 quantization scheme";
  let description = [{
    Describes how a floating-point tensor is stored as low-precision codes
    plus side data. Syntax:

    ```
    #kvq.quant<storage, (symmetric | asymmetric), granularity [, scale = T]>
    granularity ::= tensor | token | channel
                  | group(axis = A, size = G) | block(rows = R, cols = C)
                  | fragment(rows = W, period = P, run = R)
    ```

    * `storage` is the code type: `i8`, `i4`, `i2`, `f8E4M3FN` or `f8E5M2`.
    * `symmetric` stores `code * scale`; `asymmetric` (integers only) stores
      `code * scale + zero_point` with unsigned codes (KIVI style).
    * The granularity selects the block of values sharing one scale. With
      the token axis `rank - 2` and the channel axis `rank - 1`:
      `tensor` is the whole tensor; `token` one scale per token (a row over
      all channels); `channel` one scale per channel over all tokens;
      `group(axis = A, size = G)` G consecutive values along axis A (the
      last group of a ragged axis is partial); `block(rows = R, cols = C)`
      an R x C tile over (token, channel);
      `fragment(rows = W, period = P, run = R)` the tokens of a window of W
      that one thread of an mma holds (SageAttention2's per-thread
      granularity), over all channels: token `t` belongs to group
      `(t / W) * (P / R) + (t % P) / R`. Q of an m16 int8 mma: `rows = 32,
      period = 8, run = 1` (a thread holds rows `l/4` and `l/4 + 8` of each
      16-row tile: 8 groups of 4 tokens per warp of 32 rows); K as the n8
      operand: `rows = 64, period = 8, run = 2` (4 groups of 16 tokens per
      64 keys). W must be a multiple of P and P of R.
    * `scale = T` is the element type of scales and zero points: `f32`
      (default), `f16` or `bf16`.

    The scale tensor has the data's rank with dimension `i` equal to
    `ceildiv(dim_i, block_i)`. See docs/Quantization.md for the numerics.

    Examples:

    ```mlir
    #kvq.quant<i8, symmetric, token>
    #kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>
    #kvq.quant<f8E4M3FN, symmetric, channel>
    #kvq.quant<i8, symmetric, block(rows = 64, cols = 128)>
    #kvq.quant<i8, symmetric, fragment(rows = 64, period = 8, run = 2)>
    ```
  }];
  let parameters = (ins
    "::mlir::Type":$storageType,
    "bool":$symmetric,
    "::mlir::kvq::Granularity":$granularity,
    ArrayRefParameter<"int64_t",
        "group (axis, size), block (rows, cols) or fragment (rows, period, "
        "run)">
        :$granularityParams,
    "::mlir::Type":$scaleType
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bit width of one code (8, 4, 2; 8 for FP8).
    unsigned getStorageBitWidth() const;
    /// True for the FP8 storage types.
    bool isFloat8() const;
    /// True when the scheme carries a zero point (asymmetric integers).
    bool hasZeroPoint() const { return !getSymmetric(); }
    /// Largest representable code magnitude: 2^(b-1)-1 (symmetric int),
    /// 2^b-1 (asymmetric int), 448 / 57344 (FP8).
    double getMaxCode() const;
    /// Smallest code: -getMaxCode() when symmetric, 0 when asymmetric.
    double getMinCode() const;
    /// For group granularity: the axis (negative axes are not allowed).
    int64_t getGroupAxis() const;
    int64_t getGroupSize() const;
    int64_t getBlockRows() const;
    int64_t getBlockCols() const;
    /// For fragment granularity: the window W, the period P, the run R and
    /// the number of groups per window P / R.
    int64_t getFragmentRows() const;
    int64_t getFragmentPeriod() const;
    int64_t getFragmentRun() const;
    int64_t getFragmentGroups() const {
      return getFragmentPeriod() / getFragmentRun();
    }
    /// Checks that the scheme applies to data of the given rank.
    ::mlir::LogicalResult
    verifyRank(int64_t rank,
               ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError)
        const;
    /// The extent of one quantization block along every dimension of data
    /// with `shape`; a dimension covered whole gets its full (possibly
    /// dynamic) extent. For fragment granularity (whose groups are not
    /// boxes) the token dimension reports 1 and the channel dimension its
    /// full extent.
    ::llvm::SmallVector<int64_t> getBlockShape(::llvm::ArrayRef<int64_t> shape)
        const;
    /// The shape of the scale / zero-point tensor for data with `shape`:
    /// ceildiv(dim, block) per dimension, dynamic where it cannot be known.
    ::llvm::SmallVector<int64_t> getScaleShape(::llvm::ArrayRef<int64_t> shape)
        const;
  }];
}

def KVQ_ScheduleAttr : KVQ_Attr<"Schedule", "schedule"> {
  let summary = "The schedule of the attention kernels";
  let description = [{
    The knobs of the attention kernels (tile sizes, splits, warps, pipeline
    stages) and the target they are meant for. Syntax:

    ```
    #kvq.schedule<[cpu | gpu ,] knob = integer (, knob = integer)*>
    ```

    Knobs: `block_kv` (64), `split_kv` (0: automatic), `block_rows` (4,
    CPU), `vector_width` (16, CPU), `warps` (0: automatic, GPU), `stages`
    (0: automatic, GPU), `target_ctas` (264, GPU), `shared_memory` (0:
    automatic, GPU). Knobs left out take their defaults. A `cpu` or `gpu`
    schedule may set only its target's knobs and is printed with all of
    them; a schedule without a target (one a transform script or a user
    writes) accepts every knob and is printed with the knobs that differ
    from their defaults. docs/Schedules.md explains each knob.

    `kvq-attention-schedule` attaches one to every `kvq.attention` as
    `kvq.kernel_schedule`, which the lowerings read; the lowerings attach
    the schedule they used (after their target's rounding) to the loops or
    launches they build.

    Examples:

    ```mlir
    #kvq.schedule<cpu, block_kv = 64, split_kv = 0, block_rows = 4, vector_width = 16>
    #kvq.schedule<block_kv = 32, split_kv = 3>
    ```
  }];
  let parameters = (ins "::mlir::kvq::AttentionSchedule":$value);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // KVQ_DIALECT_KVQ_IR_KVQATTRS_TD
