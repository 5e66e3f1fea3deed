// RUN: kvq-opt %s -split-input-file -kvq-emulate-gpu-kernels -verify-diagnostics

// What the GPU emulator cannot run is an error naming it, never skipped.

gpu.module @clock {
  llvm.func @k(%out: !llvm.ptr) attributes {nvvm.kernel} {
    // expected-error @below {{'nvvm.read.ptx.sreg.clock' op cannot be emulated on the host: the GPU emulator does not implement it}}
    %c = nvvm.read.ptx.sreg.clock : i32
    llvm.store %c, %out : i32, !llvm.ptr
    llvm.return
  }
}

// -----

gpu.module @inline_ptx {
  llvm.func @k() attributes {nvvm.kernel} {
    // expected-error @below {{cannot be emulated on the host: inline PTX assembly ('trap;')}}
    llvm.inline_asm has_side_effects "trap;", "" : () -> ()
    llvm.return
  }
}

// -----

gpu.module @intrinsic {
  llvm.func @k(%x: f32, %out: !llvm.ptr) attributes {nvvm.kernel} {
    // expected-error @below {{cannot be emulated on the host: the GPU emulator does not implement the NVVM intrinsic 'llvm.nvvm.fmax.f'}}
    %m = llvm.call_intrinsic "llvm.nvvm.fmax.f"(%x, %x) : (f32, f32) -> f32
    llvm.store %m, %out : f32, !llvm.ptr
    llvm.return
  }
}

// -----

gpu.module @external {
  llvm.func @__nv_frobnicatef(f32) -> f32
  llvm.func @k(%x: f32, %out: !llvm.ptr) attributes {nvvm.kernel} {
    // expected-error @below {{cannot be emulated on the host: it calls the external function '__nv_frobnicatef', which the GPU emulator does not provide}}
    %y = llvm.call @__nv_frobnicatef(%x) : (f32) -> f32
    llvm.store %y, %out : f32, !llvm.ptr
    llvm.return
  }
}

// -----

// mma.sync shapes and types the emulator does not implement (here m8n8k4
// with f16 operands) are left, and reported.
gpu.module @mma {
  llvm.func @k(%a: vector<2xf16>, %c: f32, %out: !llvm.ptr) attributes {nvvm.kernel} {
    // expected-error @below {{'nvvm.mma.sync' op cannot be emulated on the host: the GPU emulator does not implement it}}
    %d = nvvm.mma.sync A[%a, %a] B[%a, %a] C[%c, %c, %c, %c, %c, %c, %c, %c] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 8, n = 8, k = 4>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
    %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
    llvm.store %d0, %out : f32, !llvm.ptr
    llvm.return
  }
}

// -----

// Shared memory reached by a device function: its accesses would not be
// checked.
gpu.module @shared_call {
  llvm.mlir.global internal @tile() {addr_space = 3 : i32} : !llvm.array<4 x f32>
  llvm.func @helper(%p: !llvm.ptr<3>) {
    llvm.return
  }
  llvm.func @k() attributes {nvvm.kernel} {
    %p = llvm.mlir.addressof @tile : !llvm.ptr<3>
    // expected-error @below {{cannot be emulated on the host: it passes a shared-memory pointer to 'helper', whose accesses the GPU emulator cannot check}}
    llvm.call @helper(%p) : (!llvm.ptr<3>) -> ()
    llvm.return
  }
}

// -----

gpu.module @shared_memcpy {
  llvm.mlir.global internal @tile() {addr_space = 3 : i32} : !llvm.array<4 x f32>
  llvm.func @k(%src: !llvm.ptr) attributes {nvvm.kernel} {
    %p = llvm.mlir.addressof @tile : !llvm.ptr<3>
    %n = llvm.mlir.constant(16 : i64) : i64
    // expected-error @below {{'llvm.intr.memcpy' op cannot be emulated on the host: it accesses shared memory in a way the GPU emulator cannot check}}
    "llvm.intr.memcpy"(%p, %src, %n) <{isVolatile = false}> : (!llvm.ptr<3>, !llvm.ptr, i64) -> ()
    llvm.return
  }
}

// -----

gpu.module @device_global {
  // expected-error @below {{cannot be emulated on the host: an external device global the GPU emulator cannot provide}}
  llvm.mlir.global external @table() {addr_space = 1 : i32} : !llvm.array<4 x f32>
  llvm.func @k() attributes {nvvm.kernel} {
    llvm.return
  }
}

// -----

// The GPU modules must have been lowered to the LLVM dialect first.
gpu.module @not_lowered {
  // expected-error @below {{kvq-emulate-gpu-kernels needs GPU modules lowered to the LLVM dialect (convert-gpu-to-nvvm)}}
  gpu.func @k() kernel {
    gpu.return
  }
}

// -----

// Only a side-effect-free register move is understood as such.
gpu.module @inline_move {
  llvm.func @k(%x: i64, %out: !llvm.ptr) attributes {nvvm.kernel} {
    // expected-error @below {{cannot be emulated on the host: inline PTX assembly ('mov.b64 $0, $1; add.s64 $0, $0, 1;')}}
    %y = llvm.inline_asm "mov.b64 $0, $1; add.s64 $0, $0, 1;", "=l,l" %x : (i64) -> i64
    llvm.store %y, %out : i64, !llvm.ptr
    llvm.return
  }
}
