// RUN: rm -rf %t && mkdir -p %t
// RUN: parallax-gen --head-dim=128 --hq=32 --hkv=8 --decode --chip=sm_90 -o %t/out --dump-dir=%t/stages | FileCheck %s --check-prefix=GEN
// RUN: FileCheck %s --check-prefix=JSON < %t/out/parallax_decode_d128_bf16_h32x8.json
// RUN: ls %t/stages | FileCheck %s --check-prefix=STAGES
// RUN: FileCheck %s --check-prefix=PTX < %t/out/parallax_decode_d128_bf16_h32x8.ptx
// RUN: FileCheck %s --check-prefix=NVVM < %t/stages/04-nvvm.mlir
// RUN: FileCheck %s --check-prefix=HOIST < %t/out/parallax_decode_d128_bf16_h32x8.ptx
// RUN: FileCheck %s --check-prefix=OPAQUE < %t/stages/06-kernel.ll
// RUN: parallax-gen --head-dim=128 --hq=8 --hkv=8 --decode --chip=sm_90 -o %t/g1
// RUN: FileCheck %s --check-prefix=STAGE < %t/g1/parallax_decode_d128_bf16_h8x8.ptx

// GEN: parallax_decode_d128_bf16_h32x8: wrote {{.*}}/out/parallax_decode_d128_bf16_h32x8.{ptx,json} in {{[0-9.]+}} s

// The GQA group (4 query heads) and their probes share one 8-row warp tile;
// 4 warp groups split the key tiles (2 stages x (K + V) x 16 x 256 bytes
// each, swizzled rows), 2 CTAs per SM asked of ptxas, cp.async copies.
// JSON-DAG: "entry": "parallax_decode_d128_bf16_h32x8"
// JSON-DAG: "chip": "sm_90"
// JSON-DAG: "ptx_version": "8.1"
// JSON-DAG: "compiler": "parallax 0.1.0 (MLIR 22.1.8)"
// JSON-DAG: "input_ir_sha256": "{{[0-9a-f]+}}"
// JSON-DAG: "shared_bytes": 65536
// JSON-DAG: "kv_groups": 4
// JSON-DAG: "block_n": 16
// JSON-DAG: "num_stages": 2
// JSON-DAG: "min_ctas_per_sm": 2
// JSON-DAG: "bulk_copy": false
// JSON-DAG: "ceil(q.dim2/2)*num_splits"
// JSON-DAG: "split_kv": true
// JSON-DAG: "name": "workspace"
// JSON-DAG: "name": "counters"
// JSON-DAG: "name": "num_splits"
// JSON-DAG: "workspace_bytes_per_cta": 8576
// JSON-DAG: "cluster_merge": true
// Packed GQA tiles hold G query rows: no one-row merge.
// JSON-DAG: "one_row_merge_dim": ""
// JSON-DAG: "programmatic_launch": true
// JSON-DAG: "pack_gqa": true
// JSON-DAG: "block_m": 2
// JSON-DAG: "num_warps": 1

// STAGES: 01-high-level.mlir
// STAGES-NEXT: 02-tiled.mlir
// STAGES-NEXT: 03-fused.mlir
// STAGES-NEXT: 04-nvvm.mlir
// STAGES-NEXT: 05-llvm.mlir
// STAGES-NEXT: 06-kernel.ll
// STAGES-NEXT: 07-kernel.ptx
// STAGES-NEXT: kernel.json

// PTX: .target sm_90
// PTX: .entry parallax_decode_d128_bf16_h32x8(
// PTX: .maxntid 128, 1, 1
// PTX: .minnctapersm 2
// No global load before the grid-dependency wait:
// PTX-NOT: ld.global
// PTX: griddepcontrol.wait;
// PTX: mov.u32 {{.*}}, %cluster_nctaid.x;
// PTX: cp.async.cg.shared.global
// PTX: griddepcontrol.launch_dependents;
// PTX: barrier.cluster.arrive.aligned;
// PTX: mapa.shared::cluster.u64
// PTX: ld.shared::cluster.b32

// The key loop (stage 04): a K/V tile wholly inside the sequence is copied
// without masks (16 unpredicated 16-byte copies per thread: K and V, 8
// rows each), the one that crosses its end zero-fills past it.
// NVVM: scf.for %{{.*}} iter_args(
// NVVM: %[[KIN:.*]] = arith.cmpi sge, %{{.*}}, %c16_i64{{.*}} : i64
// NVVM: %[[VIN:.*]] = arith.cmpi sge, %{{.*}}, %c16_i64{{.*}} : i64
// NVVM-NEXT: %[[BOTH:.*]] = arith.andi %[[KIN]], %[[VIN]] : i1
// NVVM-NEXT: scf.if %[[BOTH]] {
// NVVM-COUNT-16: nvvm.cp.async.shared.global %{{[0-9]+}}, %{{[0-9]+}}, 16, cache =  cg : !llvm.ptr<3>, !llvm.ptr<1>
// NVVM-NEXT: } else {
// NVVM: nvvm.cp.async.shared.global %{{[0-9]+}}, %{{[0-9]+}}, 16, cache =  cg, %{{[0-9]+}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// S = [Q;R] K^T over D = 128 in 4 partial sums (8 MMAs from zero: 4 sums x
// 2 n-tiles), each 2 deep, then added pairwise (16 + 8 adds).
// NVVM-COUNT-8: nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[%cst
// NVVM: nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[%{{[0-9]+}},
// NVVM-COUNT-24: arith.addf
// --bulk-copy: rows by cp.async.bulk on mbarriers (8 more bytes per stage
// and group); ignored below sm_90.
// RUN: parallax-gen --head-dim=128 --hq=32 --hkv=8 --decode --chip=sm_90 --bulk-copy -o %t/bulk
// RUN: FileCheck %s --check-prefix=BULKJSON < %t/bulk/parallax_decode_d128_bf16_h32x8.json
// RUN: FileCheck %s --check-prefix=BULKPTX < %t/bulk/parallax_decode_d128_bf16_h32x8.ptx
// RUN: parallax-gen --head-dim=128 --hq=32 --hkv=8 --decode --chip=sm_80 --bulk-copy -o %t/bulk80
// RUN: FileCheck %s --check-prefix=BULK80 < %t/bulk80/parallax_decode_d128_bf16_h32x8.json
// BULKJSON: "bulk_copy": true
// BULKJSON: "shared_bytes": 69696
// BULKPTX: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
// BULKPTX: mbarrier.try_wait.parity.shared.b64
// BULK80: "bulk_copy": false

// --tma: K/V tiles by tensor-map copies (two 128-byte column blocks a 16 x
// 128 tile) on mbarriers; the kernel takes a CUtensorMap per cache by value,
// which the metadata describes for the runtime (the source's shape, -1 for a
// dimension given at launch, and the box); its name ends in _tma, so it
// does not replace the cp.async kernel. Ignored below sm_90; head dims
// whose rows are not whole 128-byte blocks are refused, and nothing is written.
// RUN: parallax-gen --head-dim=128 --hq=32 --hkv=8 --decode --chip=sm_90 --tma -o %t/tma
// RUN: FileCheck %s --check-prefix=TMAJSON < %t/tma/parallax_decode_d128_bf16_h32x8_tma.json
// RUN: FileCheck %s --check-prefix=TMAPTX < %t/tma/parallax_decode_d128_bf16_h32x8_tma.ptx
// RUN: parallax-gen --head-dim=128 --hq=32 --hkv=8 --decode --chip=sm_80 --tma -o %t/tma80
// RUN: FileCheck %s --check-prefix=TMA80 < %t/tma80/parallax_decode_d128_bf16_h32x8.json
// RUN: not parallax-gen --head-dim=96 --decode --chip=sm_90 --tma -o %t/tma96 2>&1 | FileCheck %s --check-prefix=TMA96
// RUN: not ls %t/tma96/parallax_decode_d96_bf16_h8x8_tma.json
// TMAJSON: "tma_copy": true
// TMAJSON: "name": "num_splits",
// TMAJSON-NEXT: "type": "i64"
// TMAJSON: "box": [
// TMAJSON-NEXT: 64,
// TMAJSON-NEXT: 16,
// TMAJSON-NEXT: 1
// TMAJSON-NEXT: ],
// TMAJSON-NEXT: "name": "k_cache.tensor_map",
// TMAJSON-NEXT: "shape": [
// TMAJSON-NEXT: -1,
// TMAJSON-NEXT: 8,
// TMAJSON-NEXT: -1,
// TMAJSON-NEXT: 128
// TMAJSON-NEXT: ],
// TMAJSON-NEXT: "source": "k_cache",
// TMAJSON-NEXT: "type": "tensor_map"
// TMAJSON: "name": "v_cache.tensor_map",
// TMAJSON: "shared_bytes": 65600
// TMAPTX: .extern .shared .align 1024 .b8 parallax_dynamic_smem[];
// TMAPTX: .param .align 64 .b8 parallax_decode_d128_bf16_h32x8_tma_param_18[128],
// TMAPTX-NEXT: .param .align 64 .b8 parallax_decode_d128_bf16_h32x8_tma_param_19[128]
// TMAPTX: cvta.param.u64
// TMAPTX: prefetch.tensormap
// TMAPTX: cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// TMAPTX: mbarrier.try_wait.parity.shared.b64
// TMA80: "tma_copy": false
// TMA80-NOT: tensor_map
// TMA96: error: stage 04-nvvm.mlir failed:
// TMA96-NEXT: tma-copy (--tma) stages rows in 128-byte column blocks: head dim 96 x 2 bytes = 192 is not a multiple of 128 (supported head dims: multiples of 64)

// The decode heuristic asks for 2 CTAs per SM only where shared memory
// holds them, and for G = 1 3 stages where 2 CTAs still fit them: not at D=256
// (4 groups x 2 stages x 2 x 16 x 512 bytes = 128 KB) nor on sm_86 (100 KB
// per SM), which keep 2 stages.
// RUN: parallax-gen --decode --head-dim=256 --chip=sm_90 -o %t/d256
// RUN: FileCheck %s --check-prefix=D256 < %t/d256/parallax_decode_d256_bf16_h8x8.json
// An explicit --kv-groups counts in the same way: 8 groups fill an SM.
// RUN: parallax-gen --decode --head-dim=128 --chip=sm_90 --kv-groups=8 -o %t/kv8
// RUN: FileCheck %s --check-prefix=KV8 < %t/kv8/parallax_decode_d128_bf16_h8x8.json
// KV8-DAG: "kv_groups": 8
// KV8-DAG: "min_ctas_per_sm": 0
// One CTA per SM anyway: 3 stages (8 x 3 x 2 x 16 x 256 bytes), and the
// push merge's inbox still fits.
// KV8-DAG: "num_stages": 3
// KV8-DAG: "shared_bytes": 207888
// Where the one-row merge's inbox would not fit (D=144, 8 groups: unsliced
// accumulators), the kernel has no push form and stays within the limit.
// RUN: parallax-gen --decode --head-dim=144 --chip=sm_90 --kv-groups=8 -o %t/d144
// RUN: FileCheck %s --check-prefix=D144 < %t/d144/parallax_decode_d144_bf16_h8x8.json
// D144-DAG: "shared_bytes": 155648
// D144-DAG: "one_row_merge_dim": ""
// G=1 (one head per tile): 3 stages and the push merge's inbox, counted by
// the registers of one group's slice after the groups' merge (8 splits x 4
// groups x 19 registers x 4 lanes x 4 bytes), still 2 CTAs per SM.
// RUN: parallax-gen --decode --head-dim=128 --chip=sm_90 -o %t/g1
// RUN: FileCheck %s --check-prefix=G1 < %t/g1/parallax_decode_d128_bf16_h8x8.json
// G1-DAG: "shared_bytes": 108048
// G1-DAG: "num_stages": 3
// G1-DAG: "min_ctas_per_sm": 2
// G1-DAG: "one_row_merge_dim": "q.dim2"
// RUN: parallax-gen --decode --head-dim=128 --chip=sm_86 -o %t/sm86
// RUN: FileCheck %s --check-prefix=SM86 < %t/sm86/parallax_decode_d128_bf16_h8x8.json
// 2 stages x (K + V) x 16 x 512 bytes x 4 groups, then the one-row
// cluster merge's barrier and inbox (8 splits x 4 groups x 35 registers x
// 4 lanes x 4 bytes):
// D256-DAG: "shared_bytes": 149008
// D256-DAG: "one_row_merge_dim": "q.dim2"
// D256-DAG: "min_ctas_per_sm": 0
// D256-DAG: "num_stages": 2
// SM86-DAG: "shared_bytes": 65536
// SM86-DAG: "min_ctas_per_sm": 0
// SM86-DAG: "num_stages": 2
// SM86-DAG: "cluster_merge": false
// SM86-DAG: "programmatic_launch": false

// --help lists the generator's options, not LLVM's; --timing prints the wall
// time of every stage.
// RUN: parallax-gen --help | FileCheck %s --check-prefix=HELP
// HELP: parallax-gen options:
// HELP: --head-dim=
// HELP: --timing
// HELP-NOT: amdgpu
// RUN: parallax-gen --head-dim=64 --timing -o %t/timing | FileCheck %s --check-prefix=TIMING
// TIMING: 01-high-level.mlir {{[0-9.]+}} s
// TIMING: 04-nvvm.mlir {{[0-9.]+}} s
// TIMING: 07-kernel.ptx {{[0-9.]+}} s
// TIMING: parallax_fwd_d64_bf16_h8x8: wrote

// --trace-phases: thread 0 of each CTA writes timestamps into the global
// parallax_trace (16 x u64 per CTA, 16384 CTAs); the JSON names the points.
// RUN: parallax-gen --decode --head-dim=128 --chip=sm_90 --trace-phases -o %t/trace
// RUN: FileCheck %s --check-prefix=TRACEPTX < %t/trace/parallax_decode_d128_bf16_h8x8.ptx
// RUN: FileCheck %s --check-prefix=TRACEJSON < %t/trace/parallax_decode_d128_bf16_h8x8.json
// RUN: FileCheck %s --check-prefix=NOTRACE < %t/out/parallax_decode_d128_bf16_h32x8.ptx
// TRACEPTX: .visible .global .align 8 .b8 parallax_trace[2097152];
// TRACEPTX: %globaltimer
// TRACEPTX: %smid
// TRACEPTX-COUNT-9: %clock64
// TRACEPTX: %globaltimer
// TRACEJSON: "trace": {
// TRACEJSON-NEXT: "capacity": 16384
// TRACEJSON-NEXT: "clock0": 3
// TRACEJSON-NEXT: "points": [
// TRACEJSON-NEXT: "entry",
// TRACEJSON-NEXT: "loop_begin",
// TRACEJSON: "exit"
// TRACEJSON-NEXT: ],
// TRACEJSON-NEXT: "slots": 16,
// TRACEJSON-NEXT: "symbol": "parallax_trace"
// NOTRACE-NOT: parallax_trace
// NOTRACE-NOT: %clock64

// Unsupported requests name what is supported and write nothing.
// RUN: not parallax-gen --head-dim=100 -o %t/bad 2>&1 | FileCheck %s --check-prefix=D100
// RUN: not ls %t/bad
// RUN: not parallax-gen --chip=sm_70 -o %t/bad 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not parallax-gen --dtype=f32 -o %t/bad 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: not parallax-gen --hq=12 --hkv=5 -o %t/bad 2>&1 | FileCheck %s --check-prefix=GQA
// RUN: not parallax-gen --decode --hq=6 --hkv=2 -o %t/bad 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not parallax-gen --num-stages=5 -o %t/bad 2>&1 | FileCheck %s --check-prefix=STAGES5
// RUN: not parallax-gen --block-n=512 --head-dim=256 --chip=sm_86 -o %t/bad 2>&1 | FileCheck %s --check-prefix=SMEM
// RUN: not parallax-gen --name=a.b -o %t/bad 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: not parallax-gen --scale=-1 -o %t/bad 2>&1 | FileCheck %s --check-prefix=SCALE
// RUN: not parallax-gen --scale=1e39 -o %t/bad 2>&1 | FileCheck %s --check-prefix=SCALEINF
// RUN: not parallax-gen --split-kv=2 -o %t/bad 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: not parallax-gen --softmax --head-dim=16 --num-warps=16 --block-m=256 --kv-groups=4 --num-stages=1 --chip=sm_90 -o %t/bad 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not ls %t/bad
// D100: parallax-gen: error: head dim 100 is not supported: supported head dims are multiples of 16 from 16 to 256 (e.g. 64, 96, 128, 192, 256)
// CHIP: parallax-gen: error: chip 'sm_70' is not supported: supported are sm_80, sm_86, sm_89, sm_90, sm_90a
// DTYPE: parallax-gen: error: dtype 'f32' is not supported: use bf16 or f16
// GQA: parallax-gen: error: Hq (12) must be a positive multiple of Hkv (5)
// GROUP: parallax-gen: error: GQA group 3 cannot be packed in 8-row warp tiles: use a power of two
// STAGES5: parallax-gen: error: num-stages must be between 1 and 4 (0 = heuristic), got 5
// SMEM: parallax-gen: error: stage 04-nvvm.mlir failed:
// SMEM: needs {{[0-9]+}} bytes of shared memory {{.*}} but sm_86 allows 101376 per block
// NAME: parallax-gen: error: kernel name 'a.b' is not supported: use letters, digits and '_', starting with a letter or '_' (it is the PTX entry and the file name)
// SCALE: parallax-gen: error: scale must be positive and a finite f32 (0 = 1/sqrt(D)), got -1
// SCALEINF: parallax-gen: error: scale must be positive and a finite f32 (0 = 1/sqrt(D)), got 1e+39
// SPLIT: parallax-gen: error: split-kv must be 1 (on), 0 (off) or -1 (heuristic), got 2
// THREADS: needs 2048 threads per block (16 warps x 4 warp groups) but GPUs allow 1024; lower num-warps or kv-groups

// The key loop's unmasked copies (the second whole-tile test; the first is
// the prologue's, this kernel has 2 stages): the per-lane address terms are
// hoisted out of the loop (LICM before codegen), so the block is adds and
// copies. With LSR alone it recomputed the swizzle (xor), with neither the
// row products (mul).
// HOIST: setp.lt.s64 {{%p[0-9]+}}, {{%rd[0-9]+}}, 16;
// HOIST: setp.lt.s64 [[P:%p[0-9]+]], {{%rd[0-9]+}}, 16;
// HOIST: @[[P]] bra
// HOIST-NOT: {{mul|xor|cvt}}
// HOIST: cp.async.cg.shared.global [{{%rd[0-9]+}}], [{{%rd[0-9]+(\+[0-9]+)?}}], 16;

// The split merges (cluster and workspace) read their loop's index through an
// opaque copy, so LLVM's loop strength reduction skips those loops (it was
// most of codegen time on their unrolled loads; the key loop keeps it).
// OPAQUE-COUNT-2: call i64 asm "mov.b64 $0, $1;", "=l,l"(i64 %{{[0-9]+}})
// OPAQUE-NOT: call i64 asm "mov.b64

// The G=1 decode kernel (3 stages): the key loop carries its stage index
// (no 64-bit remainder by 3, which was two mul.hi.s64 per tile), and its
// one-warp groups sync with bar.warp.sync; bar.sync 0 (the whole CTA) only
// around the warp groups' merge.
// STAGE: .entry parallax_decode_d128_bf16_h8x8(
// STAGE-NOT: mul.hi
// STAGE-NOT: bar.sync {{%r[0-9]+}}
// STAGE: cp.async.wait_group 2;
// STAGE-NEXT: bar.warp.sync -1;
// STAGE-NOT: mul.hi
// STAGE-NOT: bar.sync {{%r[0-9]+}}
// STAGE: bar.sync 0;

// The wide G = 4 kernel (8 warp groups, one CTA per SM; no one-row form):
// a cluster of at most 4 splits pushes whole partials into rank 0. Each
// CTA initialises its inbox barrier at entry; after the key loop every
// thread pushes its 3 row statistics (group 0) and its group's 8
// accumulator registers with st.async (3 x 4 x 32 + 8 x 4 x 8 x 32 = 8576
// bytes a CTA, the expected transaction), rank 0 waits on its barrier and
// merges from its own shared memory; larger clusters still pull through
// distributed shared memory between cluster barriers. (The narrow kernels,
// 2 CTAs per SM, always pull: no inbox, above.)
// RUN: parallax-gen --head-dim=128 --hq=32 --hkv=8 --decode --kv-groups=8 --chip=sm_90 -o %t/wide --dump-dir=%t/wide-stages
// RUN: FileCheck %s --check-prefix=PUSHJSON < %t/wide/parallax_decode_d128_bf16_h32x8.json
// RUN: FileCheck %s --check-prefix=PUSH < %t/wide-stages/04-nvvm.mlir
// Staging (3 stages x 8 groups x 8192) + the inbox barrier (16) + 4 slots:
// PUSHJSON: "shared_bytes": 230928
// PUSH: nvvm.mbarrier.init %[[INBOX:[0-9]+]], %c1_i32
// PUSH: nvvm.cluster.arrive.relaxed {aligned}
// PUSH: nvvm.griddepcontrol launch_dependents
// PUSH: nvvm.cluster.wait {aligned}
// PUSH-NEXT: %c4_i64{{.*}} = arith.constant 4 : i64
// PUSH-NEXT: %[[FITS:.*]] = arith.cmpi sle, %{{.*}}, %c4_i64{{.*}} : i64
// PUSH: scf.if %[[FITS]] ->
// PUSH: nvvm.mapa %[[INBOX]], %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// PUSH-COUNT-11: llvm.inline_asm has_side_effects "st.async.shared::cluster.mbarrier::complete_tx::bytes.b32
// PUSH-NOT: st.async
// PUSH: %[[BYTES:.*]] = arith.muli %{{.*}}, %c8576_i64{{.*}} : i64
// PUSH: nvvm.mbarrier.arrive.expect_tx %[[INBOX]]
// PUSH: nvvm.mbarrier.try_wait %[[INBOX]], %{{.*}} {scope = #nvvm.mem_scope<cluster>}
// PUSH-NOT: nvvm.mapa
// PUSH: nvvm.cluster.arrive.relaxed {aligned}
// PUSH: } else {
// PUSH: nvvm.cluster.arrive {aligned}
// PUSH-NEXT: nvvm.cluster.wait {aligned}
// PUSH: nvvm.mapa
// PUSH: nvvm.cluster.arrive {aligned}
