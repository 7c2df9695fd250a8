//===- Passes.td - parallax conversions to NVIDIA GPUs -------*- tablegen -*-===//
#ifndef PARALLAX_CONVERSION_PASSES_TD
#define PARALLAX_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertParallaxToNVVM : Pass<"convert-parallax-to-nvvm", "ModuleOp"> {
  let summary = "Lower fused tiled attention programs to NVVM kernels (mma.sync, ldmatrix, cp.async)";
  let description = [{
    Turns every function holding a fused tiled program (the output of
    `parallax-tile-attention` + `parallax-fuse`) into an `llvm.func` kernel
    with the `nvvm.kernel` attribute. One CTA runs one program of the
    `scf.forall`; each warp owns 16 rows of the products:

    - Parallax: 8 query rows, their Q rows as MMA rows 0-7 and their R rows as
      rows 8-15 (the stacked `[Q;R]` tile, interleaved by 8 rows), so S1 and S2
      of a query land in the same thread, P2 = P1 * S2 needs no shuffle, and
      the `[P1;P2]` A operand of the PV product comes straight from the S
      accumulators;
    - softmax: 16 query rows.

    K and V tiles go to shared memory with `cp.async` (16 bytes, zero-filled
    past the sequence), double-buffered: the next tile's copy is in flight
    while the current one is used. Products are `mma.sync.m16n8k16` (bf16 or
    f16, f32 accumulation) with `ldmatrix` (`.trans` for V); the online
    softmax runs in registers with `ex2.approx` and quad shuffles.

    Kernel parameters: one global pointer per tensor operand of the function,
    then the output pointer, then one i64 per dynamic dimension of the
    operands in order. Grid: (query tiles, heads, batch); block: 32 x warps.

    Before: `func.func @f(...) { scf.forall ... { parallax.tile_* ... } }`
    After: `llvm.func @f(%q: !llvm.ptr<1>, ..., %B: i64, ...) attributes {nvvm.kernel, ...}`
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Target GPU: sm_80, sm_86, sm_89, sm_90 or sm_90a">,
    Option<"numStages", "num-stages", "int64_t", /*default=*/"2",
           "Shared-memory stages for K/V tiles, 1 to 4 (1 = no prefetch, 2 = "
           "double buffer, ...)">,
    Option<"minCtasPerSm", "min-ctas-per-sm", "int64_t", /*default=*/"0",
           "Ask ptxas to fit this many CTAs per SM (.minnctapersm; it caps the "
           "registers per thread), 0 = no request">,
    Option<"bulkCopy", "bulk-copy", "bool", /*default=*/"false",
           "On sm_90 and later, copy K/V rows with cp.async.bulk (the TMA "
           "engine) completing on one mbarrier per stage instead of 16-byte "
           "cp.async per thread (ignored below sm_90)">,
    Option<"tmaCopy", "tma-copy", "bool", /*default=*/"false",
           "On sm_90 and later, copy each K/V tile with tensor-map TMA copies "
           "(cp.async.bulk.tensor, one per 128-byte column block, 128-byte "
           "swizzle) completing on one mbarrier per stage; the kernel takes a "
           "CUtensorMap per K/V source (ignored below sm_90)">,
    Option<"kvGroups", "kv-groups", "int64_t", /*default=*/"1",
           "Warp groups per CTA that split the key tiles and merge (m, d, O) at "
           "the end through shared memory (decode: more bytes in flight)">,
    Option<"splitKv", "split-kv", "bool", /*default=*/"false",
           "CTAs split the key tiles too: blockIdx.x = query tile x num_splits "
           "+ split; the kernel takes workspace, counters (zeroed once) and "
           "num_splits, and the last CTA of a program merges and stores">,
    Option<"tracePhases", "trace-phases", "bool", /*default=*/"false",
           "Profiling: thread 0 of every CTA records %globaltimer, %smid and "
           "%clock64 at the kernel's phase boundaries into the global array "
           "parallax_trace (docs/Debugging.md; bench/trace_phases.py reads it)">
  ];
  let dependentDialects = ["LLVM::LLVMDialect", "NVVM::NVVMDialect",
                           "scf::SCFDialect", "arith::ArithDialect"];
}

def ParallaxCheckResources : Pass<"parallax-check-resources", "ModuleOp"> {
  let summary = "Reject fused tiled kernels whose shared memory or registers do not fit the GPU";
  let description = [{
    Estimates, for each fused tiled program, the shared memory of its K/V
    stages and the registers per thread of its accumulators and operands, and
    fails with the numbers when they exceed what `chip` offers, e.g.
    `needs 262144 bytes of shared memory (2 stages x 2 tiles of 256 x 128 x
    2 bytes, swizzled) but sm_86 allows 101376 per block`.
    Also checks the shape rules of the GPU lowering (warps x rows per warp =
    query-tile rows, head dim a multiple of 16, 16-bit elements).
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Target GPU: sm_80, sm_86, sm_89, sm_90 or sm_90a">,
    Option<"numStages", "num-stages", "int64_t", /*default=*/"2",
           "Shared-memory stages for K/V tiles">,
    Option<"bulkCopy", "bulk-copy", "bool", /*default=*/"false",
           "Bulk copies (sm_90+) and their mbarriers">,
    Option<"tmaCopy", "tma-copy", "bool", /*default=*/"false",
           "Tensor-map TMA copies (sm_90+) and their mbarriers">,
    Option<"kvGroups", "kv-groups", "int64_t", /*default=*/"1",
           "Warp groups splitting the key tiles">,
    Option<"splitKv", "split-kv", "bool", /*default=*/"false",
           "CTAs split the key tiles too">
  ];
}

#endif
