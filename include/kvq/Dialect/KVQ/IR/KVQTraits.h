//===- KVQTraits.h - Traits of kvq operations -------------------*- C++ -*-===//
//
// Part of the kvq project: attention over compressed KV caches.
//
//===----------------------------------------------------------------------===//

#ifndef KVQ_DIALECT_KVQ_IR_KVQTRAITS_H
#define KVQ_DIALECT_KVQ_IR_KVQTRAITS_H

#include "mlir/IR/OpDefinition.h"

namespace mlir {
namespace kvq {

/// Fails, naming the attribute and the op's own attributes, when `op` has
/// an attribute that is neither one of its own (inherent) attributes nor a
/// dialect attribute (`dialect.name`, verified by its dialect): a misspelt
/// `{casual}` must not silently leave an attention non-causal.
LogicalResult verifyNoUnknownAttributes(Operation *op);

/// Every kvq op has it (KVQ_Op): unknown attributes are verifier errors.
template <typename ConcreteType>
class KVQKnownAttributesOnly
    : public OpTrait::TraitBase<ConcreteType, KVQKnownAttributesOnly> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    return verifyNoUnknownAttributes(op);
  }
};

} // namespace kvq
} // namespace mlir

#endif // KVQ_DIALECT_KVQ_IR_KVQTRAITS_H
