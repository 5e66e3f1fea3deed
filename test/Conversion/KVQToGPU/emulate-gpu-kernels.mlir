// RUN: kvq-opt %s -split-input-file -kvq-emulate-gpu-kernels | FileCheck %s

// Every NVVM op a kvq kernel uses becomes its runtime call; shared memory is
// the runtime's (static globals first, the dynamic region 16-byte aligned
// after them) and every access to it is checked first.

// CHECK-DAG: llvm.func @__kvq_emu_sreg_tid_x() -> i32 attributes {memory_effects = #llvm.memory_effects<{{.*}}>, no_unwind, will_return}
// CHECK-DAG: llvm.func @__kvq_emu_barrier(i32, i32, i32, i32) -> i32 attributes {convergent}
// CHECK-DAG: llvm.func @__kvq_emu_shfl_sync(i32, i32, i32, i32, i32) -> i64 attributes {convergent}
// CHECK-DAG: llvm.func @__kvq_emu_mma_sync(i32, i32, i32, i32, i32, i32, i32, i32, !llvm.ptr, !llvm.ptr) attributes {convergent}
// CHECK-DAG: llvm.func @__nv_expf(f32) -> f32

// CHECK-LABEL: llvm.func internal @__kvq_emu.kernels.kernel(
// CHECK-SAME: %[[OUT:.*]]: !llvm.ptr, %[[SRC:.*]]: !llvm.ptr, %[[X:.*]]: f32, %[[A:.*]]: vector<2xf16>, %[[B:.*]]: vector<2xf16>, %[[C:.*]]: f32)
// CHECK-NOT: attributes
// Scratch registers at the entry (the last created first): ldmatrix's 4
// results, mma's 4 D and 10 A / B / C registers.
// CHECK: %[[N4A:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[LDREGS:.*]] = llvm.alloca %[[N4A]] x i32 {alignment = 8 : i64}
// CHECK: %[[N4:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[OUTREGS:.*]] = llvm.alloca %[[N4]] x i32 {alignment = 8 : i64}
// CHECK: %[[N10:.*]] = llvm.mlir.constant(10 : i64) : i64
// CHECK: %[[INREGS:.*]] = llvm.alloca %[[N10]] x i32 {alignment = 8 : i64}
// CHECK: %[[TID:.*]] = llvm.call @__kvq_emu_sreg_tid_x() : () -> i32
// CHECK: llvm.call @__kvq_emu_sreg_ntid_x()
// CHECK: llvm.call @__kvq_emu_sreg_ctaid_y()
// CHECK: llvm.call @__kvq_emu_sreg_laneid()
// The static tile at offset 0:
// CHECK: %[[BASE:.*]] = llvm.call @__kvq_emu_shared_base() : () -> !llvm.ptr
// CHECK: %[[TILE:.*]] = llvm.getelementptr %[[BASE]][0] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: %[[P:.*]] = llvm.getelementptr %[[TILE]][%[[TID]]]
// A 4-byte store (kind 1), 4-byte aligned:
// CHECK: %[[C4:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[STORE:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: %[[A4:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[SP:.*]] = llvm.call @__kvq_emu_shared_access(%[[P]], %[[C4]], %[[STORE]], %[[A4]])
// CHECK: llvm.store %[[X]], %[[SP]] {alignment = 4 : i64} : f32, !llvm.ptr
// barrier0 = barrier 0, all threads, no reduction:
// CHECK: %[[ZERO:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[ALL:.*]] = llvm.mlir.constant(-1 : i32) : i32
// CHECK: %[[NORED:.*]] = llvm.mlir.constant(-1 : i32) : i32
// CHECK: %[[NOPRED:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @__kvq_emu_barrier(%[[ZERO]], %[[ALL]], %[[NORED]], %[[NOPRED]]) {convergent}
// CHECK: %[[LP:.*]] = llvm.call @__kvq_emu_shared_access(%[[P]], %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: %[[Y:.*]] = llvm.load %[[LP]] : !llvm.ptr -> f32
// The dynamic region after the 40-byte tile, 16-byte aligned:
// CHECK: %[[BASE2:.*]] = llvm.call @__kvq_emu_shared_base() : () -> !llvm.ptr
// CHECK: %[[DYN:.*]] = llvm.getelementptr %[[BASE2]][48] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: %[[C16:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK: llvm.call @__kvq_emu_cp_async(%[[DYN]], %[[SRC]], %[[C16]], %[[C16]])
// CHECK: llvm.call @__kvq_emu_cp_async_commit_group()
// CHECK: llvm.call @__kvq_emu_cp_async_wait_group(%{{.*}}) {convergent}
// A 16-byte vector load (kind 0) with its 16-byte alignment:
// CHECK: %[[S16:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: %[[LOAD:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[A16:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: %[[VP:.*]] = llvm.call @__kvq_emu_shared_access(%[[DYN]], %[[S16]], %[[LOAD]], %[[A16]])
// CHECK: llvm.load %[[VP]] {alignment = 16 : i64} : !llvm.ptr -> vector<4xf32>
// An atomic (kind 2):
// CHECK: %[[ATOMIC:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK: %[[AP:.*]] = llvm.call @__kvq_emu_shared_access(%[[P]], %{{.*}}, %[[ATOMIC]], %{{.*}})
// CHECK: llvm.atomicrmw fadd %[[AP]], %[[X]] monotonic : !llvm.ptr, f32
// shfl.sync bfly (mode 2) of an f32: through i32.
// CHECK: %[[YI:.*]] = llvm.bitcast %[[Y]] : f32 to i32
// CHECK: %[[BFLY:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK: %[[SH:.*]] = llvm.call @__kvq_emu_shfl_sync(%[[BFLY]], %{{.*}}, %[[YI]], %{{.*}}, %{{.*}}) {convergent}
// CHECK: %[[SHI:.*]] = llvm.trunc %[[SH]] : i64 to i32
// CHECK: %[[SHF:.*]] = llvm.bitcast %[[SHI]] : i32 to f32
// shfl.sync up (mode 0) with its valid predicate in bit 32:
// CHECK: %[[UP:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[SU:.*]] = llvm.call @__kvq_emu_shfl_sync(%[[UP]], %{{.*}}, %[[TID]], %{{.*}}, %{{.*}}) {convergent}
// CHECK: %[[SUV:.*]] = llvm.trunc %[[SU]] : i64 to i32
// CHECK: %[[SH32:.*]] = llvm.lshr %[[SU]], %{{.*}} : i64
// CHECK: %[[VALID:.*]] = llvm.trunc %[[SH32]] : i64 to i1
// CHECK: %[[S0:.*]] = llvm.insertvalue %[[SUV]], %{{.*}}[0] : !llvm.struct<(i32, i1)>
// CHECK: llvm.insertvalue %[[VALID]], %[[S0]][1] : !llvm.struct<(i32, i1)>
// vote.sync ballot (kind 2):
// CHECK: %[[PRED:.*]] = llvm.zext %{{.*}} : i1 to i32
// CHECK: llvm.call @__kvq_emu_vote_sync(%{{.*}}, %{{.*}}, %[[PRED]]) {convergent} : (i32, i32, i32) -> i32
// CHECK: llvm.call @__kvq_emu_syncwarp(%{{.*}}) {convergent}
// mma.sync m16n8k16, f16 A / B (type 0), f32 C / D (type 3), satfinite: the
// lane's 4 + 2 + 4 registers in, 4 out.
// CHECK: %[[A0:.*]] = llvm.bitcast %[[A]] : vector<2xf16> to i32
// CHECK: %[[W0:.*]] = llvm.getelementptr %[[INREGS]][0] : (!llvm.ptr) -> !llvm.ptr, i32
// CHECK: llvm.store %[[A0]], %[[W0]] {alignment = 4 : i64} : i32, !llvm.ptr
// CHECK: llvm.bitcast %[[B]] : vector<2xf16> to i32
// CHECK: llvm.getelementptr %[[INREGS]][4]
// CHECK: llvm.bitcast %[[C]] : f32 to i32
// CHECK: llvm.getelementptr %[[INREGS]][9]
// CHECK: %[[M16:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK: %[[N8:.*]] = llvm.mlir.constant(8 : i32) : i32
// CHECK: %[[K16:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK: %[[F16A:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[F16B:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[F32C:.*]] = llvm.mlir.constant(3 : i32) : i32
// CHECK: %[[F32D:.*]] = llvm.mlir.constant(3 : i32) : i32
// CHECK: %[[SAT:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call @__kvq_emu_mma_sync(%[[M16]], %[[N8]], %[[K16]], %[[F16A]], %[[F16B]], %[[F32C]], %[[F32D]], %[[SAT]], %[[INREGS]], %[[OUTREGS]]) {convergent}
// CHECK: %[[D0P:.*]] = llvm.getelementptr %[[OUTREGS]][0]
// CHECK: %[[D0I:.*]] = llvm.load %[[D0P]] {alignment = 4 : i64} : !llvm.ptr -> i32
// CHECK: %[[D0:.*]] = llvm.bitcast %[[D0I]] : i32 to f32
// CHECK: llvm.insertvalue %[[D0]], %{{.*}}[0] : !llvm.struct<(f32, f32, f32, f32)>
// CHECK: llvm.getelementptr %[[OUTREGS]][3]
// ldmatrix .x4 (not transposed) from this lane's row:
// CHECK: %[[X4:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: %[[NOTRANS:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @__kvq_emu_ldmatrix(%[[X4]], %[[NOTRANS]], %[[P]], %[[LDREGS]]) {convergent}
// CHECK: %[[E:.*]] = llvm.call @__kvq_emu_ex2_approx_f32(%[[Y]]) : (f32) -> f32
// CHECK: %[[L:.*]] = llvm.call @__kvq_emu_lg2_approx_f32(%[[E]]) : (f32) -> f32
// CHECK: %[[R:.*]] = llvm.call @__kvq_emu_rcp_approx_ftz_f32(%[[L]]) : (f32) -> f32
// CHECK: llvm.call @__nv_expf(%[[R]]) : (f32) -> f32
// CHECK: llvm.return

// The strings naming the module (and a hash of its code) and the kernel:
// CHECK: llvm.mlir.global private constant @__kvq_emu.kernels.module("kvq-gpu-emulator-module:kernels:{{[0-9A-F]+}}\00")
// CHECK: llvm.mlir.global private constant @__kvq_emu.kernels.kernel.name("kernel\00")

// The entry unpacks mgpuLaunchKernel's parameter array: params[i] points to
// parameter i.
// CHECK-LABEL: llvm.func internal @__kvq_emu.kernels.kernel.entry(
// CHECK-SAME: %[[PARAMS:.*]]: !llvm.ptr)
// CHECK: %[[SLOT0:.*]] = llvm.getelementptr %[[PARAMS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[ARG0P:.*]] = llvm.load %[[SLOT0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[ARG0:.*]] = llvm.load %[[ARG0P]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.getelementptr %[[PARAMS]][3]
// CHECK: %[[ARG3:.*]] = llvm.load %{{.*}} : !llvm.ptr -> vector<2xf16>
// CHECK: llvm.getelementptr %[[PARAMS]][5]
// CHECK: %[[ARG5:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: llvm.call @__kvq_emu.kernels.kernel(%[[ARG0]], %{{.*}}, %{{.*}}, %[[ARG3]], %{{.*}}, %[[ARG5]])

// Registration: module text, kernel name, entry, 40 bytes of static shared
// memory, 6 parameters, at most 64 threads (nvvm.maxntid).
// CHECK-LABEL: llvm.func internal @__kvq_emu.kernels.register()
// CHECK-DAG: %[[TEXT:.*]] = llvm.mlir.addressof @__kvq_emu.kernels.module
// CHECK-DAG: %[[NAME:.*]] = llvm.mlir.addressof @__kvq_emu.kernels.kernel.name
// CHECK-DAG: %[[ENTRY:.*]] = llvm.mlir.addressof @__kvq_emu.kernels.kernel.entry
// CHECK-DAG: %[[STATIC:.*]] = llvm.mlir.constant(40 : i64) : i64
// CHECK-DAG: %[[NPARAMS:.*]] = llvm.mlir.constant(6 : i64) : i64
// CHECK-DAG: %[[MAXT:.*]] = llvm.mlir.constant(64 : i32) : i32
// CHECK: llvm.call @__kvq_emu_register_kernel(%[[TEXT]], %[[NAME]], %[[ENTRY]], %[[STATIC]], %[[NPARAMS]], %[[MAXT]])
// CHECK-LABEL: llvm.func internal @__kvq_emu.kernels.unregister()
// CHECK: llvm.call @__kvq_emu_unregister_kernel(

// The GPU module is now a binary that names it; the host code is untouched.
// CHECK: gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_80">, bin = "kvq-gpu-emulator-module:kernels:{{[0-9A-F]+}}">]
// CHECK-NOT: gpu.module
// CHECK-LABEL: llvm.func @host(
// CHECK: gpu.launch_func @kernels::@kernel
// CHECK: llvm.mlir.global_ctors ctors = [@__kvq_emu.kernels.register], priorities = [100 : i32]
// CHECK: llvm.mlir.global_dtors dtors = [@__kvq_emu.kernels.unregister], priorities = [100 : i32]

module attributes {gpu.container_module} {
  gpu.module @kernels [#nvvm.target<chip = "sm_80">] {
    llvm.mlir.global internal @tile() {addr_space = 3 : i32, alignment = 8 : i64} : !llvm.array<10 x f32>
    llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
    llvm.func @__nv_expf(f32) -> f32
    llvm.func @kernel(%out: !llvm.ptr, %src: !llvm.ptr<1>, %x: f32, %a0: vector<2xf16>, %b0: vector<2xf16>, %c0: f32) attributes {gpu.kernel, nvvm.kernel, nvvm.maxntid = array<i32: 64, 1, 1>} {
      %tid = nvvm.read.ptx.sreg.tid.x range <i32, 0, 64> : i32
      %ntid = nvvm.read.ptx.sreg.ntid.x : i32
      %cta = nvvm.read.ptx.sreg.ctaid.y : i32
      %lane = nvvm.read.ptx.sreg.laneid : i32
      %tile = llvm.mlir.addressof @tile : !llvm.ptr<3>
      %p = llvm.getelementptr %tile[%tid] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, f32
      llvm.store %x, %p {alignment = 4 : i64} : f32, !llvm.ptr<3>
      nvvm.barrier0
      %y = llvm.load %p : !llvm.ptr<3> -> f32
      %dyn = llvm.mlir.addressof @__dynamic_shmem__0 : !llvm.ptr<3>
      nvvm.cp.async.shared.global %dyn, %src, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
      nvvm.cp.async.commit.group
      nvvm.cp.async.wait.group 0
      %v = llvm.load %dyn {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xf32>
      %old = llvm.atomicrmw fadd %p, %x monotonic : !llvm.ptr<3>, f32
      %mask = llvm.mlir.constant(-1 : i32) : i32
      %one = llvm.mlir.constant(1 : i32) : i32
      %clamp = llvm.mlir.constant(31 : i32) : i32
      %s = nvvm.shfl.sync bfly %mask, %y, %one, %clamp : f32 -> f32
      %sv = nvvm.shfl.sync up %mask, %tid, %one, %clamp {return_value_and_is_valid} : i32 -> !llvm.struct<(i32, i1)>
      %pred = llvm.icmp "ult" %tid, %one : i32
      %ballot = nvvm.vote.sync ballot %mask, %pred -> i32
      nvvm.bar.warp.sync %mask : i32
      %d = nvvm.mma.sync A[%a0, %a0, %a0, %a0] B[%b0, %b0] C[%c0, %c0, %c0, %c0] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %frag = nvvm.ldmatrix %p {num = 4 : i32, layout = #nvvm.mma_layout<row>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
      %e = llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"(%y) : (f32) -> f32
      %l = llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"(%e) : (f32) -> f32
      %r = nvvm.rcp.approx.ftz.f %l : f32
      %ex = llvm.call @__nv_expf(%r) : (f32) -> f32
      llvm.return
    }
  }
  llvm.func @host(%arg0: !llvm.ptr) {
    %c1 = llvm.mlir.constant(1 : index) : i64
    %f = llvm.mlir.constant(1.0 : f32) : f32
    %h = llvm.mlir.constant(dense<1.0> : vector<2xf16>) : vector<2xf16>
    gpu.launch_func @kernels::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64
        args(%arg0 : !llvm.ptr, %arg0 : !llvm.ptr, %f : f32, %h : vector<2xf16>, %h : vector<2xf16>, %f : f32)
    llvm.return
  }
}

// -----

// What the attention kernel's bf16 recomputation after an f16 overflow uses:
// a CTA-wide OR (bar.red.or: reduction 2, with the thread's predicate),
// the inline-PTX move that hides the lane index from the optimizers (an
// out-of-line identity), and mma.sync with bf16 operands (type 1).

// CHECK-LABEL: llvm.func internal @__kvq_emu.recompute.kernel(
// CHECK-SAME: %[[PRED:[^:]*]]: i32, %[[IDX:[^:]*]]: i64, %[[A:[^:]*]]: i32, %[[B:[^:]*]]: i32, %[[C:[^:]*]]: f32
// CHECK: %[[ID:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[ALL:.*]] = llvm.mlir.constant(-1 : i32) : i32
// CHECK: %[[OR:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK: %[[ANY:.*]] = llvm.call @__kvq_emu_barrier(%[[ID]], %[[ALL]], %[[OR]], %[[PRED]]) {convergent}
// CHECK: %[[MOVED:.*]] = llvm.call @__kvq_emu_mov_b64(%[[IDX]]) : (i64) -> i64
// CHECK-NOT: llvm.inline_asm
// m16n8k16, A and B bf16 (1), C and D f32 (3):
// CHECK: %[[M:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK-NEXT: %[[N:.*]] = llvm.mlir.constant(8 : i32) : i32
// CHECK-NEXT: %[[K:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK-NEXT: %[[TA:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: %[[TB:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: %[[TC:.*]] = llvm.mlir.constant(3 : i32) : i32
// CHECK-NEXT: %[[TD:.*]] = llvm.mlir.constant(3 : i32) : i32
// CHECK-NEXT: %[[SAT:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: llvm.call @__kvq_emu_mma_sync(%[[M]], %[[N]], %[[K]], %[[TA]], %[[TB]], %[[TC]], %[[TD]], %[[SAT]], %{{.*}}, %{{.*}}) {convergent}
// CHECK: gpu.binary @recompute

module attributes {gpu.container_module} {
  gpu.module @recompute [#nvvm.target<chip = "sm_80">] {
    llvm.func @kernel(%pred: i32, %idx: i64, %a: i32, %b: i32, %c: f32, %out: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      %any = nvvm.barrier #nvvm.reduction<or> %pred -> i32
      %moved = llvm.inline_asm "mov.b64 $0, $1;", "=l,l" %idx : (i64) -> i64
      %d = nvvm.mma.sync A[%a, %a, %a, %a] B[%b, %b] C[%c, %c, %c, %c] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      llvm.store %d0, %out : f32, !llvm.ptr
      llvm.store %any, %out : i32, !llvm.ptr
      llvm.store %moved, %out : i64, !llvm.ptr
      llvm.return
    }
  }
}

// -----

// What the decode kernel's register decoders use: prmt (default mode),
// the FP8 -> f16x2 conversion (on the codes as a word), lop3 and movmatrix
// (inline PTX; movmatrix is warp-synchronous).

// CHECK-LABEL: llvm.func internal @__kvq_emu.decode.kernel(
// CHECK-SAME: %[[A:[^:]*]]: i32, %[[B:[^:]*]]: i32, %[[SEL:[^:]*]]: i32, %[[F8:[^:]*]]: vector<2xi8>
// CHECK: %[[P:.*]] = llvm.call @__kvq_emu_prmt(%[[A]], %[[B]], %[[SEL]]) : (i32, i32, i32) -> i32
// CHECK: %[[W16:.*]] = llvm.bitcast %[[F8]] : vector<2xi8> to i16
// CHECK: %[[W:.*]] = llvm.zext %[[W16]] : i16 to i32
// CHECK: %[[E4M3:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[NORELU:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[H:.*]] = llvm.call @__kvq_emu_cvt_f16x2_f8x2(%[[W]], %[[E4M3]], %[[NORELU]]) : (i32, i32, i32) -> i32
// CHECK: llvm.bitcast %[[H]] : i32 to vector<2xf16>
// CHECK: %[[LUT:.*]] = llvm.mlir.constant(106 : i32) : i32
// CHECK: llvm.call @__kvq_emu_lop3(%[[A]], %[[B]], %[[P]], %[[LUT]]) : (i32, i32, i32, i32) -> i32
// CHECK: llvm.call @__kvq_emu_movmatrix(%[[A]]) {convergent} : (i32) -> i32
// CHECK-NOT: llvm.inline_asm
// CHECK: gpu.binary @decode

module attributes {gpu.container_module} {
  gpu.module @decode [#nvvm.target<chip = "sm_90">] {
    llvm.func @kernel(%a: i32, %b: i32, %sel: i32, %f8: vector<2xi8>, %out: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      %p = nvvm.prmt #nvvm.permute_mode<default> %sel, %a, %b : i32
      %h = nvvm.convert.f8x2.to.f16x2 %f8 : vector<2xi8> (f8E4M3FN) -> vector<2xf16>
      %l = llvm.inline_asm "lop3.b32 $0, $1, $2, $3, 0x6a;", "=r,r,r,r" %a, %b, %p : (i32, i32, i32) -> i32
      %t = llvm.inline_asm has_side_effects "movmatrix.sync.aligned.m8n8.trans.b16 $0, $1;", "=r,r" %a : (i32) -> i32
      llvm.store %h, %out : vector<2xf16>, !llvm.ptr
      llvm.store %l, %out : i32, !llvm.ptr
      llvm.store %t, %out : i32, !llvm.ptr
      llvm.return
    }
  }
}

// -----

// A vector load checks the bytes it reads (LLVM's store size: 12 for
// vector<3xi32>), not MLIR's type size (rounded up to 16).

// CHECK-LABEL: llvm.func internal @__kvq_emu.words.kernel(
// CHECK: %[[TWELVE:.*]] = llvm.mlir.constant(12 : i64) : i64
// CHECK: %[[LOAD:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @__kvq_emu_shared_access(%{{.*}}, %[[TWELVE]], %[[LOAD]], %{{.*}})
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> vector<3xi32>

module attributes {gpu.container_module} {
  gpu.module @words [#nvvm.target<chip = "sm_80">] {
    llvm.mlir.global internal @row() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<28 x i32>
    llvm.func @kernel(%out: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      %row = llvm.mlir.addressof @row : !llvm.ptr<3>
      %p = llvm.getelementptr %row[21] : (!llvm.ptr<3>) -> !llvm.ptr<3>, i32
      %w = llvm.load %p {alignment = 4 : i64} : !llvm.ptr<3> -> vector<3xi32>
      llvm.store %w, %out : vector<3xi32>, !llvm.ptr
      llvm.return
    }
  }
}
