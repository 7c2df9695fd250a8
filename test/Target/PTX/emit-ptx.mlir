// The GPU pipeline end to end, no GPU needed: IR -> NVVM -> PTX text.
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_80 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx --chip=sm_80 | FileCheck %s --check-prefixes=CHECK,SM80,CPASYNC
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx --chip=sm_90 | FileCheck %s --check-prefixes=CHECK,SM90,CPASYNC
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1 bulk-copy=true" | parallax-translate --parallax-to-ptx --chip=sm_90 | FileCheck %s --check-prefixes=CHECK,SM90,BULK
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90a block-m=8 block-n=16 num-warps=1 bulk-copy=true" | parallax-translate --parallax-to-ptx --chip=sm_90a | FileCheck %s --check-prefixes=CHECK,SM90A,BULK
// bulk-copy is ignored below sm_90 (no cp.async.bulk there).
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_80 block-m=8 block-n=16 num-warps=1 bulk-copy=true" | parallax-translate --parallax-to-ptx --chip=sm_80 | FileCheck %s --check-prefixes=CHECK,SM80,CPASYNC
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx --chip=sm_90 | FileCheck %s --check-prefix=LOOP --implicit-check-not=ex2.approx.f32
// Three stages: two tiles in flight while one is read.
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_80 block-m=8 block-n=16 num-warps=1 num-stages=3" | parallax-translate --parallax-to-ptx --chip=sm_80 | FileCheck %s --check-prefix=STAGES3
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_86 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-llvmir --chip=sm_86 | FileCheck %s --check-prefix=LLVMIR

// SM80: .version 8.0
// sm_90 kernels use st.async (PTX 8.1) in the one-row cluster merge.
// SM90: .version 8.1
// SM90A: .version 8.1
// SM80: .target sm_80
// SM90: .target sm_90
// SM90A: .target sm_90a
// CHECK: .extern .shared .align 16 .b8 parallax_dynamic_smem[];
// CHECK: .entry parallax_small(
// CHECK: .maxntid 32, 1, 1
// By default: 16-byte cp.async per thread, zero-filled past the sequence,
// one commit group per tile.
// CPASYNC: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16, {{.*}};
// CPASYNC: cp.async.commit_group;
// CPASYNC: cp.async.wait_group 1;
// bulk-copy on sm_90: one bulk copy per K/V row (the TMA engine) completing
// on the stage's mbarrier, which one thread arms with the tile's bytes.
// BULK: mbarrier.init.shared.b64
// BULK: fence.mbarrier_init.release.cluster;
// BULK: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// BULK: fence.proxy.async.shared::cta;
// BULK: mbarrier.arrive.expect_tx.shared.b64
// BULK: mbarrier.try_wait.parity.shared.b64
// BULK-NOT: cp.async.cg
// The key loop (its blocks come in no fixed order): K by ldmatrix,
// S by mma, the softmax's quad shuffles, ex2 without denormal fix-ups, V by ldmatrix.trans; tiles inside the
// sequence copied without masks (the 16-byte form without a source size).
// LOOP-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// LOOP-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// LOOP-DAG: shfl.sync.bfly.b32
// LOOP-DAG: ex2.approx.ftz.f32
// LOOP-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// LOOP-DAG: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16;
// In every configuration, after the copies: K by ldmatrix, S by mma.
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// No libdevice call may survive: ptxas could not resolve it.
// CHECK-NOT: __nv_

// STAGES3: cp.async.commit_group;
// STAGES3: cp.async.commit_group;
// STAGES3: cp.async.commit_group;
// STAGES3: cp.async.wait_group 2;

// LLVMIR: target triple = "nvptx64-nvidia-cuda"
// LLVMIR: define ptx_kernel void @parallax_small(ptr addrspace(1)
// LLVMIR: call void @llvm.nvvm.cp.async.cg.shared.global.16.s(
// LLVMIR: call { float, float, float, float } @llvm.nvvm.mma.m16n8k16.row.col.bf16(

func.func @parallax_small(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r {causal} : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
