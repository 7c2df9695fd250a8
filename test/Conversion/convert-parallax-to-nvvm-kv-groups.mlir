// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_80 kv-groups=2" | FileCheck %s
// RUN: not parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="kv-groups=16" 2>&1 | FileCheck %s --check-prefix=TOOMANY

// Two warp groups split the key tiles of one program: each group strides
// over the tiles with its own stages and named barrier, then the partial
// (m, d1, d2, [O1;O2]) meet in shared memory, rescaled by exp2(m_g - m).

// CHECK: llvm.func @decode_like
// CHECK-SAME: nvvm.maxntid = array<i32: 64, 1, 1>
// CHECK-SAME: parallax.shared_bytes = 10240
// The loop steps by the number of groups.
// CHECK: %[[STEP:.*]] = arith.constant 2 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[STEP]]
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: nvvm.mma.sync
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %{{.*}}
// CHECK: scf.yield
// Merge: all groups store, barrier, all load both groups, rescale, sum.
// CHECK: nvvm.barrier0
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<3> -> f32
// CHECK: arith.maxnumf
// CHECK: llvm.intr.exp2
// Only group 0 writes the output.
// CHECK: arith.cmpi eq, %{{.*}}, %{{.*}} : i64
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>

// TOOMANY: error: kv-groups must be between 1 and 15 (named barriers 1..15), got 16

func.func @decode_like(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> {
  %o = parallax.attention %q, %k, %v probe %r : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
