/* Calls the entry points of c-symbols.mlir by their C symbols. */
#include "my-lib.h"

#include <stdio.h>

static void run(const char *name, kvq_entry_fn fn) {
  float x[4] = {0, 1, 2, 3}, y[4] = {0};
  int64_t shape[1] = {4};
  kvq_buffer in = {x, 1, shape, KVQ_DTYPE_F32};
  kvq_buffer out = {y, 1, shape, KVQ_DTYPE_F32};
  int32_t status = fn(&in, 1, &out, 1);
  printf("%s %d: %g %g %g %g\n", name, status, y[0], y[1], y[2], y[3]);
}

int main(void) {
  run("main", my_lib_main);
  run("a.b", my_lib_a_b);
  run("a_b", a_b);
  run("a-b", my_lib_a_b_2);
  run("exp", my_lib_exp);
  return 0;
}
