// A hand-written module NVPTX cannot compile for the chip (cluster ids on
// sm_80): an error naming what failed, exit 1, no crash and no output file.
// RUN: rm -f %t.ptx
// RUN: not parallax-translate --parallax-to-ptx --chip=sm_80 %s -o %t.ptx 2>&1 | FileCheck %s
// RUN: not ls %t.ptx
// RUN: parallax-translate --parallax-to-ptx --chip=sm_90 %s | FileCheck %s --check-prefix=SM90

// CHECK: error: LLVM's NVPTX backend cannot compile this module: Cannot select: intrinsic %llvm.nvvm.read.ptx.sreg.clusterid.x (was it lowered for this --chip?)
// SM90: %clusterid.x
llvm.func @k(%p: !llvm.ptr<1>) attributes {nvvm.kernel} {
  %0 = nvvm.read.ptx.sreg.clusterid.x : i32
  llvm.store %0, %p : i32, !llvm.ptr<1>
  llvm.return
}
