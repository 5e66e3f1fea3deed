/*===- embed.c - A program that drives kvq through its C API -------------===*\
|*                                                                            *|
|* Part of the kvq project: attention over compressed KV caches.             *|
|*                                                                            *|
|* The MLIR C API style: dialect handle, registry, textual pass pipelines.  *|
|* Links libKVQ-C.so only (kvq's and MLIR's C APIs over libMLIR.so).         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "kvq-c/Dialects.h"
#include "kvq-c/Passes.h"
#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/RegisterEverything.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kModule =
    "func.func @decode(%q: tensor<1x8x1x64xf32>, %k: tensor<1x2x?x64xi8>,\n"
    "                  %ks: tensor<1x2x?x1xf32>, %v: tensor<1x2x?x64xf32>)\n"
    "    -> tensor<1x8x1x64xf32> {\n"
    "  %o = kvq.attention q(%q : tensor<1x8x1x64xf32>)\n"
    "      k(%k : tensor<1x2x?x64xi8>, #kvq.quant<i8, symmetric, token>,\n"
    "        scale %ks : tensor<1x2x?x1xf32>)\n"
    "      v(%v : tensor<1x2x?x64xf32>) -> tensor<1x8x1x64xf32>\n"
    "  return %o : tensor<1x8x1x64xf32>\n"
    "}\n";

static void print(MlirStringRef text, void *userData) {
  fwrite(text.data, 1, text.length, (FILE *)userData);
}

/* Whether the printed `op` contains `needle`. */
static int printedContains(MlirOperation op, const char *needle) {
  FILE *f = tmpfile();
  if (!f)
    return 0;
  mlirOperationPrint(op, print, f);
  long size = ftell(f);
  rewind(f);
  char *text = (char *)malloc((size_t)size + 1);
  size_t n = fread(text, 1, (size_t)size, f);
  text[n] = 0;
  fclose(f);
  int found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

int main(void) {
  /* Unbuffered: stdout and LLVM's stderr messages interleave in order. */
  setvbuf(stdout, NULL, _IONBF, 0);
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  mlirRegisterAllDialects(registry);
  mlirDialectHandleInsertDialect(mlirGetDialectHandle__kvq__(), registry);
  kvqRegisterExternalModels(registry);
  MlirContext context = mlirContextCreateWithRegistry(registry, false);
  mlirDialectRegistryDestroy(registry);
  kvqRegisterPasses();
  kvqRegisterPipelines();

  MlirStringRef ns =
      mlirDialectHandleGetNamespace(mlirGetDialectHandle__kvq__());
  printf("dialect: %.*s\n", (int)ns.length, ns.data);

  MlirModule module =
      mlirModuleCreateParse(context, mlirStringRefCreateFromCString(kModule));
  if (mlirModuleIsNull(module))
    return 1;

  /* A pipeline by name, as in kvq-opt. */
  MlirPassManager pm = mlirPassManagerCreateOnOperation(
      context, mlirStringRefCreateFromCString("builtin.module"));
  MlirLogicalResult parsed = mlirParsePassPipeline(
      mlirPassManagerGetAsOpPassManager(pm),
      mlirStringRefCreateFromCString(
          "builtin.module(kvq-cpu-pipeline{threads=false block-kv=32})"),
      print, stderr);
  if (mlirLogicalResultIsFailure(parsed))
    return 2;
  if (mlirLogicalResultIsFailure(
          mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module))))
    return 3;
  printf("kvq-cpu-pipeline: %s\n",
         printedContains(mlirModuleGetOperation(module), "llvm.func @decode")
             ? "llvm.func @decode"
             : "missing");
  mlirPassManagerDestroy(pm);

  /* kvqAddPipeline: bad options are reported, not fatal. */
  MlirPassManager bad = mlirPassManagerCreateOnOperation(
      context, mlirStringRefCreateFromCString("builtin.module"));
  printf("bad option:");
  MlirLogicalResult added = kvqAddPipeline(
      mlirPassManagerGetAsOpPassManager(bad), false,
      mlirStringRefCreateFromCString("block-kv=banana"), print, stdout);
  printf("kvqAddPipeline: %s\n",
         mlirLogicalResultIsFailure(added) ? "failure" : "success");
  mlirPassManagerDestroy(bad);

  mlirModuleDestroy(module);
  mlirContextDestroy(context);
  return 0;
}
