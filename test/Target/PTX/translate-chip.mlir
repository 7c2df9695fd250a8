// parallax-translate compiles for the chip the kernels were lowered for
// (their parallax.chip) unless --chip says otherwise, and refuses an older
// chip with an error instead of an abort in NVPTX instruction selection.
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx | FileCheck %s --check-prefix=DEFAULT
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" | parallax-translate --parallax-to-ptx --chip=sm_90a | FileCheck %s --check-prefix=NEWER
// RUN: rm -f %t.ptx
// RUN: parallax-opt %s --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" | not parallax-translate --parallax-to-ptx --chip=sm_80 -o %t.ptx 2>&1 | FileCheck %s --check-prefix=OLDER
// RUN: not ls %t.ptx

// DEFAULT: .target sm_90
// DEFAULT: .entry attn(
// NEWER: .target sm_90a
// OLDER: error: kernel 'attn' was lowered for sm_90 (its parallax.chip) and cannot be compiled for sm_80: lower it for sm_80, or emit for sm_90
func.func @attn(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}
