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
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class KVQ_Op<string mnemonic, list<Trait> traits = []>
    : Op<KVQ_Dialect, mnemonic, traits>;

#endif // KVQ_DIALECT_KVQ_IR_KVQBASE_TD
