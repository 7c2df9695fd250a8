// The GPU pipeline end to end, no GPU needed: IR -> NVVM -> PTX text.
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_80 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx --chip=sm_80 | FileCheck %s --check-prefixes=CHECK,SM80
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx --chip=sm_90 | FileCheck %s --check-prefixes=CHECK,SM90
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90a block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx --chip=sm_90a | FileCheck %s --check-prefixes=CHECK,SM90A
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_86 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-llvmir --chip=sm_86 | FileCheck %s --check-prefix=LLVMIR

// CHECK: .version 8.0
// SM80: .target sm_80
// SM90: .target sm_90
// SM90A: .target sm_90a
// CHECK: .extern .shared .align 16 .b8 parallax_dynamic_smem[];
// CHECK: .entry parallax_small(
// CHECK: .maxntid 32, 1, 1
// CHECK: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16, {{.*}};
// CHECK: cp.async.commit_group;
// CHECK: cp.async.wait_group 1;
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: shfl.sync.bfly.b32
// CHECK: ex2.approx.f32
// CHECK: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// No libdevice call may survive: ptxas could not resolve it.
// CHECK-NOT: __nv_

// LLVMIR: target triple = "nvptx64-nvidia-cuda"
// LLVMIR: define ptx_kernel void @parallax_small(ptr addrspace(1)
// LLVMIR: call void @llvm.nvvm.cp.async.cg.shared.global.16.s(
// LLVMIR: call { float, float, float, float } @llvm.nvvm.mma.m16n8k16.row.col.bf16(

func.func @parallax_small(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r {causal} : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
