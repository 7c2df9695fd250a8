// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90 kv-groups=2 split-kv=true" | FileCheck %s
// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_80 kv-groups=2 split-kv=true" | FileCheck %s --check-prefix=SM80

// Split-KV on sm_90: the launch decides how the splits merge. Launched in
// clusters of exactly num_splits CTAs along x (%cluster_nctaid.x ==
// num_splits > 1), with one valid row in the tile (G = 1, one query) and at
// most 8 splits, every CTA pushes its row's registers into cluster rank 0's
// inbox (st.async, completing on rank 0's mbarrier), and rank 0 merges them
// alone. Any other cluster launch: each CTA leaves its partial in its own
// shared memory and, after a cluster barrier, merges and stores its rows
// (g % num_splits == split) of every CTA's partial through distributed
// shared memory. Any other launch takes the workspace, counter and last-CTA
// path. Every CTA waits at the end for the cluster's last arrival.

// CHECK: llvm.func @split
// CHECK-SAME: parallax.cluster_merge
// CHECK-SAME: parallax.one_row_merge
// Staging (10240) + the inbox barrier (16) + 8 slots of 2 groups x 11
// registers x 4 lanes x 4 bytes:
// CHECK-SAME: parallax.shared_bytes = 13072
// CHECK-SAME: parallax.workspace_bytes_per_cta = 2432
// Programmatic dependent launch: wait for the previous grid before any
// memory access; release the next one once this CTA's keys are read.
// CHECK: nvvm.griddepcontrol wait
// CHECK: %[[MULTI:.*]] = arith.cmpi sgt, %arg15, %{{.*}} : i64
// CHECK: %[[NCTA:.*]] = nvvm.read.ptx.sreg.cluster.nctaid.x : i32
// CHECK: %[[NCTA64:.*]] = arith.extsi %[[NCTA]] : i32 to i64
// CHECK: %[[SAME:.*]] = arith.cmpi eq, %[[NCTA64]], %arg15 : i64
// CHECK: %[[CLUSTER:.*]] = arith.andi %[[SAME]], %[[MULTI]] : i1
// Thread 0 of every CTA initialises its inbox barrier (one arrival, its
// own); the cluster barrier's first phase makes that visible to the others.
// CHECK: %[[BAR:.*]] = llvm.getelementptr %{{.*}}[%c10240_i64] : (!llvm.ptr<3>, i64) -> !llvm.ptr<3>, i8
// CHECK: nvvm.mbarrier.init %[[BAR]], %c1_i32 : !llvm.ptr<3>, i32
// CHECK-NEXT: nvvm.fence.mbarrier.init
// CHECK: scf.if %[[CLUSTER]] {
// CHECK-NEXT: nvvm.cluster.arrive.relaxed {aligned}
// CHECK: scf.for
// CHECK: nvvm.mma.sync
// CHECK: nvvm.griddepcontrol launch_dependents
// CHECK: scf.if %[[CLUSTER]] -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, i1)
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK: %[[EIGHT:.*]] = arith.cmpi sle, %arg15, %{{.*}} : i64
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : i64
// CHECK: %[[PUSH:.*]] = arith.andi %[[ONE]], %[[EIGHT]] : i1
// CHECK: scf.if %[[PUSH]] -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, i1)
// CHECK: nvvm.mapa %{{.*}}, %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: nvvm.mapa %[[BAR]], %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// Lanes 0-3 of each group (the row's quad) push their 11 registers.
// CHECK: arith.cmpi slt, %{{.*}}, %c4_i64{{.*}} : i64
// CHECK-COUNT-11: llvm.inline_asm has_side_effects "st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [$0], $1, [$2];", "l,f,l"
// Rank 0's thread 0 expects every split's bytes; rank 0 waits on its
// barrier, acquiring at cluster scope, and merges up to 8 splits (one
// step) from its own shared memory, every lane 2 registers and each max
// (the step's first split without a test: the loop's own covers it).
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[BAR]], %{{.*}} : !llvm.ptr<3>, i32
// CHECK: nvvm.mbarrier.try_wait %[[BAR]], %{{.*}} {scope = #nvvm.mem_scope<cluster>} : !llvm.ptr<3>, i32 -> i1
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32)
// CHECK-COUNT-7: scf.if %{{.*}} -> (f32, f32, f32) {
// CHECK-NOT: scf.if %{{.*}} -> (f32, f32, f32) {
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK-COUNT-11: nvvm.shfl.sync  idx
// CHECK: nvvm.cluster.arrive.relaxed {aligned}
// CHECK: } else {
// The groups are done with their merge slots; the partial goes there.
// CHECK: nvvm.barrier0
// CHECK-COUNT-3: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<3>
// CHECK: scf.if %true
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<3>
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-NEXT: %[[ROW:.*]] = arith.remsi %{{.*}}, %arg15 : i64
// CHECK-NEXT: %[[OWNS:.*]] = arith.cmpi eq, %[[ROW]], %{{.*}} : i64
// Every CTA loops over all splits; the lanes of its rows load.
// CHECK: scf.for %{{.*}} = %{{.*}} to %arg15 step
// CHECK: arith.andi %{{.*}}, %[[OWNS]] : i1
// CHECK: nvvm.mapa %{{.*}}, %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK-COUNT-11: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<7> -> f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK: scf.yield %{{.*}}, %[[OWNS]] : f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, i1
// CHECK: } else {
// CHECK: llvm.atomicrmw add
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// The stores are guarded by the lane's rows (cluster) or the last CTA.
// CHECK: arith.andi
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>
// CHECK: scf.if %[[CLUSTER]] {
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-NEXT: }
// CHECK-NEXT: llvm.return

// sm_80 has no clusters and no programmatic launch: the workspace path only.
// SM80: llvm.func @split
// SM80-NOT: parallax.cluster_merge
// SM80-NOT: nvvm.cluster
// SM80-NOT: nvvm.griddepcontrol
// SM80-NOT: nvvm.mapa
// SM80: llvm.atomicrmw add
// SM80-NOT: nvvm.cluster
// SM80: llvm.return

func.func @split(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
