/* Calls an entry point of abi.mlir from C through the generated header. */

#include "abi.h"

#include <stdio.h>

int main(void) {
  float x[3 * 16], y[3 * 16];
  for (int i = 0; i < 3 * 16; ++i)
    x[i] = (float)(i + 1);
  float s = 2.0f;
  int64_t x_shape[2] = {3, 16}, y_shape[2] = {3, 16};
  kvq_buffer inputs[2] = {{x, 2, x_shape, KVQ_DTYPE_F32},
                          {&s, 0, NULL, KVQ_DTYPE_F32}};
  kvq_buffer outputs[1] = {{y, 2, y_shape, KVQ_DTYPE_F32}};
  int32_t status = scale(inputs, 2, outputs, 1);
  printf("scale: %d [%g %g %g %g ...]\n", status, y[0], y[1], y[2], y[3]);

  int64_t wrong_shape[2] = {3, 15};
  outputs[0].shape = wrong_shape;
  printf("scale (wrong dim): %d\n", scale(inputs, 2, outputs, 1));

  int64_t dims[2] = {-1, -1};
  status = scale_output_shapes(inputs, 2, dims, 2);
  printf("scale_output_shapes: %d [%lld %lld]\n", status, (long long)dims[0],
         (long long)dims[1]);

  /* The thread setting: previous value, refusal of a negative count. */
  int32_t before = kvq_set_num_threads(2);
  int32_t now = kvq_get_num_threads();
  int32_t refused = kvq_set_num_threads(-3);
  printf("threads: %d %d %d %d\n", before, now, refused,
         kvq_get_num_threads());
  return 0;
}
