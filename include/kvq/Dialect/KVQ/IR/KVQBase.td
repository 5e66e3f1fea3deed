//===- KVQBase.td - kvq dialect definition -----------------*- tablegen -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQBASE_TD
#define KVQ_DIALECT_KVQ_IR_KVQBASE_TD

include "mlir/IR/OpBase.td"

def KVQ_Dialect : Dialect {
  let name = "kvq";
  let cppNamespace = "::mlir::kvq";
  let summary = "Attention over compressed key/value caches";
  let description = [{
    The `kvq` dialect expresses attention whose key and value caches are
    stored compressed (integer or FP8 quantization today; polar coding,
    sketching and low-rank projection as the dialect grows) so that the
    decoding of the cache can be fused into the attention loop, tiled and
    lowered for CPUs (LLVM) and NVIDIA GPUs (NVVM).

    A compression scheme is described once by an attribute (for example
    `#kvq.quant<i4, asymmetric, group(axis = 2, size = 32), scale = f16>`)
    and referenced by every op that produces or consumes data in that
    scheme. Values are builtin tensors; sub-byte codes use MLIR's own
    narrow integer types (`i4`, `i2`) and are packed only when buffers are
    materialised.

    kvq ops take only their own attributes and dialect attributes
    (`dialect.name`): any other attribute is a verifier error, so that a
    misspelling such as `{casual}` is reported rather than kept and
    ignored. The kvq dialect's own discardable attributes are
    `kvq.layer = i` (integer, on `kvq.attention`: the layer index by which
    KV policies address it), `kvq.schedule = "tag"` (a string by which
    transform scripts select ops), `kvq.kernel_schedule =
    #kvq.schedule<...>` (the schedule the attention lowerings read, or the
    one they used, on the loops and launches they built), `kvq.host`
    (unit, on functions that stay on the host in GPU pipelines) and
    `kvq.entry_point` (a dictionary on the kernels that
    `kvq-wrap-entry-points` prepares for the C ABI); other `kvq.*` names
    are errors.
  }];
  let useDefaultAttributePrinterParser = 1;
  // `kvq.layer` (on kvq.attention), `kvq.host` and `kvq.entry_point` (on
  // functions), `kvq.schedule` (a string tag for transform scripts),
  // `kvq.kernel_schedule` (a #kvq.schedule) and the GPU plans are the
  // dialect's discardable attributes; any other `kvq.*` is an error.
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

// Attributes that are neither the op's own nor a dialect's (`dialect.name`)
// are verifier errors: a misspelt `{casual}` must not be kept and ignored.
def KVQ_KnownAttributesOnly : NativeOpTrait<"KVQKnownAttributesOnly"> {
  let cppNamespace = "::mlir::kvq";
}

class KVQ_Op<string mnemonic, list<Trait> traits = []>
    : Op<KVQ_Dialect, mnemonic, !listconcat(traits, [KVQ_KnownAttributesOnly])>;

#endif // KVQ_DIALECT_KVQ_IR_KVQBASE_TD
