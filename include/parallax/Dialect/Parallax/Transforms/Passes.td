//===- Passes.td - parallax passes ---------------------------*- tablegen -*-===//
//
// Kept in alphabetical order of their flags.
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_TRANSFORMS_PASSES_TD
#define PARALLAX_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertParallaxToLinalg : Pass<"convert-parallax-to-linalg", "func::FuncOp"> {
  let summary = "Lower tiled parallax ops to linalg/tensor/arith/math for the CPU path";
  let description = [{
    Rewrites every tiled op into upstream ops on tensors, so that upstream
    bufferization and the LLVM lowering can run a kernel on the host (tests,
    debugging). Loads become `tensor.generate` with a bounds check, products
    and reductions `linalg.generic`, stacking `tensor.insert_slice`.

    Before:
    ```mlir
    %s = parallax.tile_dot %q, %k {transpose_b}
        : tensor<16x64xf32>, tensor<16x64xf32> -> tensor<16x16xf32>
    ```
    After:
    ```mlir
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<16x16xf32>) -> tensor<16x16xf32>
    %s = linalg.generic {iterator_types = ["parallel", "parallel", "reduction"], ...}
        ins(%q, %k : tensor<16x64xf32>, tensor<16x64xf32>) outs(%z : tensor<16x16xf32>) {...}
    ```
  }];
  let dependentDialects = ["linalg::LinalgDialect", "tensor::TensorDialect",
                           "arith::ArithDialect", "math::MathDialect",
                           "scf::SCFDialect"];
}

def ParallaxFuseCovarianceProbe : Pass<"parallax-fuse-covariance-probe", "func::FuncOp"> {
  let summary = "Make the covariance stream ride on the softmax stream's max and rescale";
  let description = [{
    The unfused tiled loop runs two online-softmax streams over the same
    logits S1: the softmax stream (m1, d1, O1) and the covariance stream
    (m2, d2, O2) whose weights are exp2(S1 - m2) * S2. Both running maxima
    start at -inf and are updated from the same logits, so they are equal.
    This pass drops the second max from the loop and rewrites the covariance
    stream to use the first stream's `alpha` and `p`: P2 = P1 * S2, one max,
    one exp2 and one rescale factor for d1, d2, O1 and O2.

    Before (loop body):
    ```mlir
    %m1n, %a1, %p1 = parallax.softmax_step %s1, %m1 : ...
    %m2n, %a2, %e2 = parallax.softmax_step %s1, %m2 : ...
    %p2 = arith.mulf %e2, %s2 : tensor<64x64xf32>
    %d2s = parallax.tile_rescale %d2, %a2 : ...
    ```
    After:
    ```mlir
    %m1n, %a1, %p1 = parallax.softmax_step %s1, %m1 : ...
    %p2 = arith.mulf %p1, %s2 : tensor<64x64xf32>
    %d2s = parallax.tile_rescale %d2, %a1 : ...
    ```
  }];
}

def ParallaxFuseProjector : Pass<"parallax-fuse-projector", "func::FuncOp"> {
  let summary = "Stack the probe rows R under the query rows Q: one [Q;R] K^T product";
  let description = [{
    Finds pairs of `parallax.tile_dot` in one loop body whose B operands read
    the same K tile (the same value, or two identical `parallax.tile_load`s)
    and whose A operands are loop-invariant tiles. It stacks the A operands
    once before the loop and replaces the pair with one product and an
    unstack, so that each K tile is read once for S1 and S2.

    Before:
    ```mlir
    %k1 = parallax.tile_load %k[%b, %h, %col] {heads = 1, rows = 64} : ...
    %s1 = parallax.tile_dot %q, %k1 {transpose_b} : ...
    %k2 = parallax.tile_load %k[%b, %h, %col] {heads = 1, rows = 64} : ...
    %s2 = parallax.tile_dot %r, %k2 {transpose_b} : ...
    ```
    After:
    ```mlir
    %qr = parallax.tile_stack %q, %r : ...          // hoisted out of the loop
    %k1 = parallax.tile_load %k[%b, %h, %col] {heads = 1, rows = 64} : ...
    %s = parallax.tile_dot %qr, %k1 {transpose_b} : ...
    %s1, %s2 = parallax.tile_unstack %s : ...
    ```
  }];
}

def ParallaxFuseValueAggregation : Pass<"parallax-fuse-value-aggregation", "func::FuncOp"> {
  let summary = "Stack P2 under P1: one [P1;P2] V product for O1 and O2";
  let description = [{
    Finds two accumulating `parallax.tile_dot`s of a loop whose B operands
    read the same V tile and whose accumulators are loop-carried and rescaled
    by the same `alpha`. It stacks the two accumulators into one loop-carried
    [O1; O2] tile, stacks P1 and P2, and replaces the pair with one product,
    so each V tile is read once. Run it after
    `parallax-fuse-covariance-probe` (it needs the shared `alpha`).

    Before:
    ```mlir
    %o1s = parallax.tile_rescale %o1, %a : ...
    %o1n = parallax.tile_dot %p1, %v1 acc %o1s : ...
    %o2s = parallax.tile_rescale %o2, %a : ...
    %o2n = parallax.tile_dot %p2, %v2 acc %o2s : ...
    ```
    After:
    ```mlir
    %os = parallax.tile_rescale %o12, %a2 : ...     // %a2 = [alpha; alpha]
    %p12 = parallax.tile_stack %p1, %p2 : ...
    %o12n = parallax.tile_dot %p12, %v1 acc %os : ...
    ```
  }];
}

def ParallaxReportIntensity : Pass<"parallax-report-intensity", "func::FuncOp"> {
  let summary = "Report FLOPs, bytes moved and arithmetic intensity of tiled kernels";
  let description = [{
    Emits one remark per tiled K/V loop: the tile-product FLOPs of one
    iteration, the bytes of K/V tiles it loads, FLOPs per K/V byte, and per
    program the Q/R bytes loaded and the O bytes stored. Compare the report
    before and after the fusion passes: fused Parallax does about twice the
    FLOPs per K/V byte.

    ```
    remark: parallax intensity: kv-loop flops=2097152 kv-bytes=32768
            flops/kv-byte=64.0 dots=2 kv-loads=2 q-bytes=32768 o-bytes=16384
    ```
  }];
}

def ParallaxTileAttention : Pass<"parallax-tile-attention", "func::FuncOp"> {
  let summary = "Tile attention ops into one flash-loop program per (query tile, batch, head)";
  let description = [{
    Rewrites `parallax.attention` and `parallax.decode_attention` into an
    `scf.forall` over (batch, head or KV head, query tile) whose body loads
    the Q (and R) tile, loops over K/V tiles with an online softmax, and
    stores the finalized tile. The output is deliberately unfused: S1 and S2
    come from separate products that each load their K tile, the covariance
    stream keeps its own running max, and O1 and O2 come from separate
    products that each load their V tile. The fusion passes then remove that
    redundancy one step at a time. With `pack-gqa`, the G query heads of one
    KV head (and their probes) share one tile.

    Before:
    ```mlir
    %o = parallax.attention %q, %k, %v probe %r
        : tensor<1x1x128x64xf32>, tensor<1x1x128x64xf32>, tensor<1x1x128x64xf32>,
          tensor<1x1x128x64xf32> -> tensor<1x1x128x64xf32>
    ```
    After (sketch):
    ```mlir
    %res = scf.forall (%b, %h, %t) in (1, 1, 2) shared_outs(%out = %init) -> ... {
      %qt = parallax.tile_load %q[%b, %h, %row] {heads = 1, rows = 64} : ...
      %rt = parallax.tile_load %r[%b, %h, %row] {heads = 1, rows = 64} : ...
      %acc:6 = scf.for %j = %lo to %hi step %c1 iter_args(...) {
        %k1 = parallax.tile_load %k[...]   %s1 = parallax.tile_dot %qt, %k1 {transpose_b}
        %s1m = parallax.tile_mask %s1, ...  %m1n, %a1, %p1 = parallax.softmax_step %s1m, %m1
        ... softmax stream (d1, O1) ... covariance stream (m2, d2, O2) ...
      }
      %o = parallax.finalize %acc#2, %acc#1 probe %acc#5, %acc#4 : ...
      scf.forall.in_parallel { tensor.parallel_insert_slice ... }
    }
    ```
  }];
  let options = [
    Option<"blockM", "block-m", "int64_t", /*default=*/"64",
           "Query rows per tile (per head when GQA heads are packed); 0 picks "
           "min(64, Lq rounded up to a power of two)">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"64",
           "Keys per K/V tile">,
    Option<"numWarps", "num-warps", "int64_t", /*default=*/"4",
           "Warps per program, recorded for the GPU stages">,
    Option<"packGqa", "pack-gqa", "bool", /*default=*/"true",
           "Pack the G query heads of one KV head into one tile">,
    Option<"fitWarps", "fit-warps", "bool", /*default=*/"false",
           "With block-m 0: the rows num-warps fill on the GPU (x 16 for "
           "softmax, x 8 query rows plus their probes for Parallax), per "
           "packed head">
  ];
  let dependentDialects = ["scf::SCFDialect", "tensor::TensorDialect",
                           "arith::ArithDialect"];
}

#endif // PARALLAX_TRANSFORMS_PASSES_TD
