// RUN: parallax-opt %s -parallax-tile-attention="block-m=8 block-n=16 num-warps=1" -parallax-fuse -convert-parallax-to-nvvm="chip=sm_90 kv-groups=2 split-kv=true" | FileCheck %s

// Split-KV across CTAs: blockIdx.x = query tile x num_splits + split; each
// CTA takes a chunk of the key tiles, writes its partial registers to the
// workspace, counts itself in, and the last CTA of the program merges the
// splits (its warp groups sharing them) and stores.

// CHECK: llvm.func @split
// CHECK-SAME: %arg4: !llvm.ptr<1>, %arg5: !llvm.ptr<1>, %arg6: !llvm.ptr<1>
// CHECK-SAME: parallax.grid = ["ceil(q.dim2/8)*num_splits", "q.dim0", "1"]
// CHECK-SAME: parallax.param_names = ["q", "k", "v", "r", "out", "workspace", "counters", "q.dim0"
// CHECK-SAME: "r.dim2", "num_splits"]
// 19 registers (m, d1, d2 and 16 of [O1;O2]) x 32 threads x 4 bytes:
// CHECK-SAME: parallax.workspace_bytes_per_cta = 2432
// CHECK: %[[QT:.*]] = arith.divsi %[[X:.*]], %arg15 : i64
// CHECK-NEXT: %[[SPLIT:.*]] = arith.remsi %[[X]], %arg15 : i64
// CHECK: arith.ceildivsi
// CHECK: scf.for
// CHECK: nvvm.mma.sync
// Thread 0 releases the CTA's stores, counts in, and (last CTA) acquires:
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: llvm.atomicrmw add %{{.*}}, %{{.*}} syncscope("device") monotonic : !llvm.ptr<1>, i32
// CHECK: llvm.fence syncscope("device") acq_rel
// CHECK: nvvm.barrier #nvvm.reduction<or> %{{.*}} -> i32
// One online pass over the splits; the next split's registers are loaded
// before this one is merged (the first before the loop).
// CHECK: scf.if
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK: scf.for
// CHECK: scf.if
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK: llvm.intr.exp2
// CHECK: arith.andi

func.func @split(%q: tensor<?x1x?x32xbf16>, %k: tensor<?x1x?x32xbf16>, %v: tensor<?x1x?x32xbf16>, %r: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
  %o = parallax.attention %q, %k, %v probe %r : tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16>, tensor<?x1x?x32xbf16> -> tensor<?x1x?x32xbf16>
  return %o : tensor<?x1x?x32xbf16>
}
