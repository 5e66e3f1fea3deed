// The schedule of schedule_payload.mlir: the causal attention in 3
// key-range partitions of 16-key blocks, 2-row tiles, 8-lane vectors; the
// other in 32-key blocks.
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %split = transform.structured.match ops{["kvq.attention"]} attributes{kvq.schedule = "split"} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.kvq.tile_attention %split {schedule = #kvq.schedule<block_kv = 16, split_kv = 3, block_rows = 2, vector_width = 8>} : !transform.any_op
    %rest = transform.structured.match ops{["kvq.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.kvq.tile_attention %rest {schedule = #kvq.schedule<block_kv = 32>} : !transform.any_op
    transform.yield
  }
}
