// `parallax-opt --help` lists every parallax pass and pipeline with its summary.
// RUN: parallax-opt --help | FileCheck %s

// CHECK-DAG: --convert-parallax-to-linalg {{.*}}Lower tiled parallax ops to linalg/tensor/arith/math for the CPU path
// CHECK-DAG: --parallax-fuse {{.*}}Fuse projector, covariance probe and value aggregation (in order)
// CHECK-DAG: --parallax-fuse-covariance-probe {{.*}}Make the covariance stream ride on the softmax stream's max and rescale
// CHECK-DAG: --parallax-fuse-projector {{.*}}Stack the probe rows R under the query rows Q: one [Q;R] K^T product
// CHECK-DAG: --parallax-fuse-value-aggregation {{.*}}Stack P2 under P1: one [P1;P2] V product for O1 and O2
// CHECK-DAG: --parallax-lower-to-cpu {{.*}}Tile, fuse and lower attention to the LLVM dialect for the host
// CHECK-DAG: --parallax-report-intensity {{.*}}Report FLOPs, bytes moved and arithmetic intensity of tiled kernels
// CHECK-DAG: --parallax-tile-attention {{.*}}Tile attention ops into one flash-loop program per (query tile, batch, head)

// The other tools list their own options only (LLVM's flags stay hidden).
// RUN: parallax-translate --help | FileCheck %s --check-prefix=TRANSLATE
// TRANSLATE: parallax-translate options:
// TRANSLATE: --chip=
// TRANSLATE-NOT: amdgpu
// RUN: parallax-cpu-check --help | FileCheck %s --check-prefix=CPUCHECK
// CPUCHECK: parallax-cpu-check options:
// CPUCHECK: -d <long>
// CPUCHECK-NOT: amdgpu
