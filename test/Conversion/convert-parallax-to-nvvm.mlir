// RUN: parallax-opt %s -convert-parallax-to-nvvm="chip=sm_80" | FileCheck %s
// RUN: parallax-opt %s -convert-parallax-to-nvvm="chip=sm_80 num-stages=1" | FileCheck %s --check-prefix=ONESTAGE
// RUN: parallax-opt %s -convert-parallax-to-nvvm="chip=sm_90 bulk-copy=true" | FileCheck %s --check-prefix=BULK

// Input: a fused Parallax program (1 warp: 8 query rows + their 8 probe rows,
// D = 32, 16-key tiles), as parallax-tile-attention + parallax-fuse leave it.

// CHECK: llvm.mlir.global external @parallax_dynamic_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK-LABEL: llvm.func @parallax_small(
// CHECK-SAME: %arg0: !llvm.ptr<1>, %arg1: !llvm.ptr<1>, %arg2: !llvm.ptr<1>, %arg3: !llvm.ptr<1>, %arg4: !llvm.ptr<1>, %arg5: i64
// CHECK-SAME: nvvm.kernel, nvvm.maxntid = array<i32: 32, 1, 1>
// CHECK-SAME: parallax.grid = ["ceil(q.dim2/8)", "q.dim0", "1"]
// CHECK-SAME: parallax.param_names = ["q", "k", "v", "r", "out", "q.dim0", "q.dim2"
// CHECK-SAME: parallax.shared_bytes = 5120 : i64
// K and V of the first tile are copied before the loop (prefetch) ...
// CHECK: nvvm.cp.async.shared.global {{.*}}, 16, cache =  cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// The loop carries the stage it reads (from 0), after the accumulators.
// CHECK: scf.for %{{.*}} iter_args({{.*}}, %[[STAGE:.*]] = %c0_i64{{.*}}) -> ({{.*}}, i64) {
// CHECK: %[[LAST:.*]] = arith.cmpi eq, %[[STAGE]], %c1_i64{{.*}} : i64
// ... and the next tile's while this one is used: wait for one group, not all.
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// A one-warp program orders its lanes' copies with a warp barrier.
// CHECK-NEXT: arith.constant -1 : i32
// CHECK-NEXT: nvvm.bar.warp.sync
// S = [Q;R] K^T: K rows through ldmatrix (row layout), bf16 mma into f32.
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32
// CHECK: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// Online softmax in registers: quad shuffles, exp2 (ex2.approx in PTX).
// CHECK: nvvm.shfl.sync  bfly
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// O = [P1;P2] V: V through ldmatrix.trans.
// CHECK: nvvm.ldmatrix %{{.*}} layout = #nvvm.mma_layout<col>
// CHECK: nvvm.mma.sync
// CHECK: nvvm.bar.warp.sync
// Next stage: 0 after the last one (2 stages), else stage + 1.
// CHECK: %[[NEXT:.*]] = arith.select %[[LAST]], %c0_i64{{.*}}, %{{.*}} : i64
// CHECK-NEXT: scf.yield {{.*}}, %[[NEXT]] : {{.*}}, i64
// CHECK: llvm.store
// CHECK-NOT: parallax.tile
// CHECK-NOT: func.func

// ONESTAGE: parallax.shared_bytes = 2560
// ONESTAGE: scf.for
// ONESTAGE: nvvm.cp.async.commit.group
// ONESTAGE-NEXT: nvvm.cp.async.wait.group 0

// Bulk copies wait on the stage's mbarrier for the phase parity the loop
// carries beside the stage: flipped after each pass over the stages.
// BULK: scf.for %{{.*}} iter_args({{.*}}, %[[STAGE:.*]] = %c0_i64{{.*}}, %[[PARITY:.*]] = %c0_i64{{.*}}) -> ({{.*}}, i64, i64) {
// BULK: %[[LAST:.*]] = arith.cmpi eq, %[[STAGE]], %c1_i64{{.*}} : i64
// BULK: %[[P32:.*]] = arith.trunci %[[PARITY]] : i64 to i32
// BULK: nvvm.mbarrier.try_wait %{{.*}}, %[[P32]] : !llvm.ptr<3>, i32 -> i1
// BULK: %[[NEXT:.*]] = arith.select %[[LAST]], %c0_i64{{.*}}, %{{.*}} : i64
// BULK-NEXT: %{{.*}} = arith.constant 1 : i64
// BULK-NEXT: %[[FLIP:.*]] = arith.xori %[[PARITY]], %{{.*}} : i64
// BULK-NEXT: %[[NEXTP:.*]] = arith.select %[[LAST]], %[[FLIP]], %[[PARITY]] : i64
// BULK-NEXT: scf.yield {{.*}}, %[[NEXT]], %[[NEXTP]] : {{.*}}, i64, i64

  func.func @parallax_small(%arg0: tensor<?x1x?x32xbf16>, %arg1: tensor<?x1x?x32xbf16>, %arg2: tensor<?x1x?x32xbf16>, %arg3: tensor<?x1x?x32xbf16>) -> tensor<?x1x?x32xbf16> attributes {parallax.arg_names = ["q", "k", "v", "r"]} {
    %cst = arith.constant dense<0.000000e+00> : tensor<8x32xf32>
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<8xf32>
    %cst_1 = arith.constant dense<0xFF800000> : tensor<8xf32>
    %c16 = arith.constant 16 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c2 = arith.constant 2 : index
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg0, %c0 : tensor<?x1x?x32xbf16>
    %dim_2 = tensor.dim %arg0, %c2 : tensor<?x1x?x32xbf16>
    %0 = tensor.empty(%dim, %dim_2) : tensor<?x1x?x32xbf16>
    %1 = arith.ceildivui %dim_2, %c8 : index
    %2 = scf.forall (%arg4, %arg5) in (%dim, %1) shared_outs(%arg6 = %0) -> (tensor<?x1x?x32xbf16>) {
      %3 = arith.muli %arg5, %c8 : index
      %4 = parallax.tile_load %arg0[%arg4, %c0, %3] {heads = 1 : i64, rows = 8 : i64} : tensor<?x1x?x32xbf16> -> tensor<8x32xbf16>
      %5 = parallax.tile_load %arg3[%arg4, %c0, %3] {heads = 1 : i64, rows = 8 : i64} : tensor<?x1x?x32xbf16> -> tensor<8x32xbf16>
      %dim_3 = tensor.dim %arg1, %c2 : tensor<?x1x?x32xbf16>
      %6 = arith.subi %dim_3, %dim_2 : index
      %7 = arith.addi %6, %3 : index
      %8 = arith.addi %7, %c8 : index
      %9 = arith.minsi %dim_3, %8 : index
      %10 = arith.maxsi %9, %c0 : index
      %11 = arith.ceildivui %10, %c16 : index
      %12 = parallax.tile_stack %4, %5 : tensor<8x32xbf16>, tensor<8x32xbf16> -> tensor<16x32xbf16>
      %13 = parallax.tile_stack %cst, %cst : tensor<8x32xf32>, tensor<8x32xf32> -> tensor<16x32xf32>
      %14:4 = scf.for %arg7 = %c0 to %11 step %c1 iter_args(%arg8 = %cst_1, %arg9 = %cst_0, %arg10 = %cst_0, %arg11 = %13) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16x32xf32>) {
        %18 = arith.muli %arg7, %c16 : index
        %19 = parallax.tile_load %arg1[%arg4, %c0, %18] limit %dim_3 {heads = 1 : i64, rows = 16 : i64} : tensor<?x1x?x32xbf16> -> tensor<16x32xbf16>
        %20 = parallax.tile_dot %12, %19 {transpose_b} : tensor<16x32xbf16>, tensor<16x32xbf16> -> tensor<16x16xf32>
        %top_4, %bottom_5 = parallax.tile_unstack %20 : tensor<16x16xf32> -> tensor<8x16xf32>, tensor<8x16xf32>
        %21 = parallax.tile_mask %top_4, %3, %18, %dim_2, %dim_3 {causal, rows_per_head = 8 : i64, scale = 0.255034864 : f32} : tensor<8x16xf32>
        %new_max, %alpha, %probs = parallax.softmax_step %21, %arg8 : tensor<8x16xf32>, tensor<8xf32>
        %22 = parallax.tile_rescale %arg9, %alpha : tensor<8xf32>, tensor<8xf32>
        %23 = parallax.tile_rowsum %probs, %22 : tensor<8x16xf32>, tensor<8xf32>
        %24 = parallax.tile_load %arg2[%arg4, %c0, %18] limit %dim_3 {heads = 1 : i64, rows = 16 : i64} : tensor<?x1x?x32xbf16> -> tensor<16x32xbf16>
        %25 = arith.truncf %probs : tensor<8x16xf32> to tensor<8x16xbf16>
        %26 = arith.mulf %probs, %bottom_5 : tensor<8x16xf32>
        %27 = parallax.tile_rescale %arg10, %alpha : tensor<8xf32>, tensor<8xf32>
        %28 = parallax.tile_rowsum %26, %27 : tensor<8x16xf32>, tensor<8xf32>
        %29 = arith.truncf %26 : tensor<8x16xf32> to tensor<8x16xbf16>
        %30 = parallax.tile_stack %alpha, %alpha : tensor<8xf32>, tensor<8xf32> -> tensor<16xf32>
        %31 = parallax.tile_rescale %arg11, %30 : tensor<16x32xf32>, tensor<16xf32>
        %32 = parallax.tile_stack %25, %29 : tensor<8x16xbf16>, tensor<8x16xbf16> -> tensor<16x16xbf16>
        %33 = parallax.tile_dot %32, %24 acc %31 : tensor<16x16xbf16>, tensor<16x32xbf16>, tensor<16x32xf32> -> tensor<16x32xf32>
        scf.yield %new_max, %23, %28, %33 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16x32xf32>
      }
      %top, %bottom = parallax.tile_unstack %14#3 : tensor<16x32xf32> -> tensor<8x32xf32>, tensor<8x32xf32>
      %15 = parallax.finalize %top, %14#1 probe %bottom, %14#2 : tensor<8x32xf32>, tensor<8xf32>, tensor<8x32xf32>, tensor<8xf32> -> tensor<8x32xbf16>
      %expanded = tensor.expand_shape %15 [[0, 1], [2]] output_shape [1, 8, 32] : tensor<8x32xbf16> into tensor<1x8x32xbf16>
      %16 = arith.subi %dim_2, %3 : index
      %17 = arith.minsi %16, %c8 : index
      %extracted_slice = tensor.extract_slice %expanded[0, 0, 0] [1, %17, 32] [1, 1, 1] : tensor<1x8x32xbf16> to tensor<1x?x32xbf16>
      scf.forall.in_parallel {
        tensor.parallel_insert_slice %extracted_slice into %arg6[%arg4, 0, %3, 0] [1, 1, %17, 32] [1, 1, 1, 1] : tensor<1x?x32xbf16> into tensor<?x1x?x32xbf16>
      }
    } {parallax.tiling = {block_m = 8 : i64, block_n = 16 : i64, gqa_heads_per_tile = 1 : i64, num_warps = 1 : i64}}
    return %2 : tensor<?x1x?x32xbf16>
  }
