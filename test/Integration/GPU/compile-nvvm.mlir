// kvq-compile --target=nvvm: a host library that launches the embedded GPU
// kernels through libkvq_cuda_runtime. Builds without a GPU.
// REQUIRES: cuda-runtime
// RUN: rm -rf %t && mkdir -p %t
// RUN: kvq-compile %s --target=nvvm --format=isa --chip=sm_90 -o %t/ --name=dec
// RUN: llvm-nm -D --defined-only %t/dec.so | FileCheck %s --check-prefix=EXPORTS
// RUN: llvm-nm -D --undefined-only %t/dec.so | FileCheck %s --check-prefix=IMPORTS
// RUN: FileCheck %s --check-prefix=JSON --input-file=%t/dec.json
// RUN: FileCheck %s --check-prefix=ABI --input-file=%t/dec.abi.c
// RUN: not kvq-compile %s --target=nvvm --block-rows=3 -o %t/ 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BADOPT
// RUN: not kvq-compile %s --target=tpu -o %t/ 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: env KVQ_RUNTIME_DIR=%t/nowhere not kvq-compile %s --target=nvvm -o %t/ 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NORUNTIME

// EXPORTS: T decode
// EXPORTS: T decode_output_shapes

// IMPORTS-DAG: U kvqCudaClearError
// IMPORTS-DAG: U kvqCudaGetLastError
// IMPORTS-DAG: U mgpuLaunchKernel
// IMPORTS-DAG: U mgpuModuleLoadJIT

// JSON: "gpu_chip": "sm_90"
// JSON: "target": "nvvm"

// A failed CUDA call during the run is the entry point's KVQ_ERR_DEVICE.
// ABI: kvqCudaClearError();
// ABI-NEXT: _mlir_ciface_{{.*}}decode(
// ABI-NEXT: if (kvqCudaGetLastError(NULL, 0) != 0)
// ABI-NEXT: return KVQ_ERR_DEVICE;

// BADOPT: --block-rows is an option of the CPU pipeline (kvq-cpu-pipeline), not of --target=nvvm
// TARGET: unsupported target 'tpu' (supported: cpu, nvvm, nvvm-emulated)
// NORUNTIME: --target=nvvm needs the CUDA runtime library

func.func @decode(%q: tensor<?x32x1x128xf16>, %kc: tensor<?x8x?x128xi4>, %ks: tensor<?x8x?x1xf16>,
                  %vc: tensor<?x8x?x128xi4>, %vs: tensor<?x8x?x4xf16>) -> tensor<?x32x1x128xf16> {
  %o = kvq.attention q(%q : tensor<?x32x1x128xf16>)
      k(%kc : tensor<?x8x?x128xi4>, #kvq.quant<i4, symmetric, token, scale = f16>, scale %ks : tensor<?x8x?x1xf16>)
      v(%vc : tensor<?x8x?x128xi4>, #kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>, scale %vs : tensor<?x8x?x4xf16>)
      -> tensor<?x32x1x128xf16>
  return %o : tensor<?x32x1x128xf16>
}
