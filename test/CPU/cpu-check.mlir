// The CPU execution a user runs to debug a kernel: build, run, compare with
// the float64 reference (see docs/Debugging.md).
// RUN: parallax-cpu-check --b=2 --hq=8 --hkv=2 --lq=37 --lk=75 --d=96 --causal --block-m=16 --block-n=32 | FileCheck %s
// RUN: parallax-cpu-check --b=2 --hq=8 --hkv=2 --lq=37 --lk=75 --d=96 --causal --block-m=16 --block-n=32 --no-fuse | FileCheck %s
// RUN: parallax-cpu-check --decode --b=3 --hq=8 --hkv=1 --lq=1 --lk=300 --d=128 --seq-lens=300,1,137 --block-m=0 | FileCheck %s
// RUN: parallax-cpu-check --dtype=bf16 --b=1 --hq=4 --hkv=1 --lq=64 --lk=130 --d=64 --window=50 | FileCheck %s --check-prefix=BF16
// RUN: parallax-cpu-check --emit-ir --hq=4 --hkv=2 --causal | FileCheck %s --check-prefix=IR
// RUN: not parallax-cpu-check --hq=12 --hkv=5 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not parallax-cpu-check --dtype=f64 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: not parallax-cpu-check --scale=-1 2>&1 | FileCheck %s --check-prefix=SCALE
// SCALE: error: scale must be positive and a finite f32 (0 = 1/sqrt(D)), got -1

// CHECK: rel-L2 {{.*}} (tolerance 1e-05) over {{[0-9]+}} elements; {{.*}}: PASS
// BF16: rel-L2 {{.*}} (tolerance 1e-02) over 16384 elements; {{.*}}: PASS
// IR: parallax.attention %q, %k, %v probe %r {causal} : tensor<1x4x64x64xf32>, tensor<1x2x64x64xf32>
// BAD: error: parallax::ref::validate: Hq (12) must be a multiple of Hkv (5)
// DTYPE: error: --dtype must be f32 or bf16 on the CPU path, got 'f64'
