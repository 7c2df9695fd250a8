// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_80 kv-groups=2 split-kv=true" | FileCheck %s

// Split-KV across CTAs: blockIdx.x = query tile x num_splits + split; each
// CTA takes a chunk of the key tiles, writes its partial registers to the
// workspace, counts itself in, and the last CTA of the program merges the
// splits and stores. After the groups' merge each warp group holds the row
// stats and its half of [O1;O2]'s columns: it writes, merges and stores
// only those.

// CHECK: llvm.func @split
// CHECK-SAME: %arg4: !llvm.ptr<1>, %arg5: !llvm.ptr<1>, %arg6: !llvm.ptr<1>
// CHECK-SAME: parallax.grid = ["ceil(q.dim2/8)*num_splits", "1", "q.dim0"]
// CHECK-SAME: parallax.param_names = ["q", "k", "v", "r", "out", "workspace", "counters", "q.dim0"
// CHECK-SAME: "r.dim2", "num_splits"]
// 19 registers (m, d1, d2 and 16 of [O1;O2]) x 32 threads x 4 bytes:
// CHECK-SAME: parallax.workspace_bytes_per_cta = 2432
// In 32 bits (a 64-bit division is a runtime branch to the 32-bit one):
// CHECK: %[[X:.*]] = nvvm.read.ptx.sreg.ctaid.x : i32
// CHECK: %[[S32:.*]] = arith.trunci %arg15 : i64 to i32
// CHECK-NEXT: %[[QT:.*]] = arith.divui %[[X]], %[[S32]] : i32
// CHECK: arith.ceildivsi %{{.*}}, %{{.*}} : i32
// CHECK: scf.for
// CHECK: nvvm.mma.sync
// A tile of one valid row (the rows the output stores == 1: one query per
// KV head at G = 1) passes only that row: lanes 0-3 store the 11 slice
// registers as [group][register][lane] ...
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %{{.*}}, %c1_i64{{.*}} : i64
// CHECK: scf.if %[[ONE]] {
// CHECK: %[[QUAD:.*]] = arith.cmpi slt, %{{.*}}, %c4_i64{{.*}} : i64
// CHECK: scf.if %[[QUAD]] {
// CHECK-COUNT-11: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<1>
// ... any other tile the whole partial: the row stats by group 0, each
// group's 8 slice registers.
// CHECK: } else {
// CHECK: scf.if
// CHECK-COUNT-3: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<1>
// CHECK: scf.if %true
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<1>
// CHECK: nvvm.barrier0
// Thread 0 releases the CTA's stores, counts in, and (last CTA) acquires:
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: llvm.atomicrmw add %{{.*}}, %{{.*}} syncscope("device") monotonic : !llvm.ptr<1>, i32
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: nvvm.barrier #nvvm.reduction<or> %{{.*}} -> i32
// One row: every lane takes 2 of the 11 registers of one quad lane plus
// the split's max, 16 splits per step; the merged registers go back to
// their lanes by shuffles.
// CHECK: scf.if %[[ONE]] -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK: %[[B16:.*]] = arith.constant 16 : i64
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[B16]] iter_args({{.*}}) -> (f32, f32, f32)
// CHECK-COUNT-3: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: scf.yield
// CHECK-COUNT-11: nvvm.shfl.sync  idx
// Otherwise the last CTA merges 8 splits per step (11 registers each: the
// loads of all 8 in flight), then one rescale; the other CTAs' loops run 0
// times.
// CHECK: } else {
// CHECK: %[[BATCH:.*]] = arith.constant 8 : i64
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[BATCH]] iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-8: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: scf.yield
// No group merge after it: the groups store their own columns.
// CHECK-NOT: nvvm.barrier0
// CHECK: arith.andi
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>

func.func @split(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
