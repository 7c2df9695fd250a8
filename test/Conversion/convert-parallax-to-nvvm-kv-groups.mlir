// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_80 kv-groups=2" | FileCheck %s
// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_80 kv-groups=3" | FileCheck %s --check-prefix=WHOLE
// RUN: not parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="kv-groups=16" 2>&1 | FileCheck %s --check-prefix=TOOMANY
// RUN: not parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="min-ctas-per-sm=33" 2>&1 | FileCheck %s --check-prefix=MINCTAS
// MINCTAS: error: min-ctas-per-sm must be between 1 and 32 (0 = none), got 33

// Two warp groups split the key tiles of one program: each group strides
// over the tiles with its own stages and barrier (a warp barrier: each group
// is one warp), then the partial (m, d1, d2, [O1;O2]) meet in shared
// memory, rescaled by exp2(m_g - m).

// CHECK: llvm.func @decode_like
// CHECK-SAME: nvvm.maxntid = array<i32: 64, 1, 1>
// CHECK-SAME: parallax.shared_bytes = 10240
// The loop steps by the number of groups.
// CHECK: %[[STEP:.*]] = arith.constant 2 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[STEP]]
// CHECK: nvvm.bar.warp.sync
// CHECK: nvvm.mma.sync
// CHECK: nvvm.bar.warp.sync
// CHECK: scf.yield
// A group that ran one tile fewer than group 0 passes that iteration's two
// group barriers (compute-sanitizer's racecheck counts barriers per thread).
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: arith.constant
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK-NEXT: arith.constant
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK-NEXT: }
// Merge: all groups store, barrier, then each group loads the row stats
// (m, d1, d2) of both groups and its own 16 columns of [O1;O2] (2 of the 4
// 8-column blocks: 4 registers x 32 threads x 4 bytes further per group),
// rescales and sums.
// CHECK: nvvm.barrier0
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: %[[C512:.*]] = arith.constant 512 : i64
// CHECK-NEXT: %[[OFF:.*]] = arith.muli %[[GROUP:.*]], %[[C512]] : i64
// CHECK-NEXT: %[[SLICE:.*]] = llvm.getelementptr %{{.*}}[%[[OFF]]]
// The slice's first column: 16 per group.
// CHECK: %[[C16:.*]] = arith.constant 16 : i64
// CHECK-NEXT: %[[COL0:.*]] = arith.muli %[[GROUP]], %[[C16]] : i64
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<3> -> f32
// CHECK: llvm.getelementptr %[[SLICE]]
// CHECK: arith.maxnumf
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// Every group writes its own columns: no group test guards the output.
// CHECK-NOT: arith.cmpi eq, %[[GROUP]]
// CHECK: %[[COL:.*]] = arith.addi %{{.*}}, %[[COL0]] : i64
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>
// CHECK-COUNT-1: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>
// CHECK-NOT: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>

// Three groups cannot share the 4 column blocks of D=32: every group merges
// the whole tile (3 groups x 19 registers loaded) and group 0 stores.
// WHOLE: nvvm.barrier0
// WHOLE: nvvm.barrier0
// WHOLE-COUNT-57: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<3> -> f32
// WHOLE-NOT: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<3> -> f32
// WHOLE: %[[G0:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : i64
// WHOLE-NEXT: %[[COND:.*]] = arith.andi %{{.*}}, %[[G0]] : i1
// WHOLE-NEXT: scf.if %[[COND]]
// WHOLE: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>

// TOOMANY: error: kv-groups must be between 1 and 15 (named barriers 1..15), got 16

func.func @decode_like(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> {
  %o = parallax.attention %q, %k, %v probe %r : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
