// REQUIRES: ptxas
// Every supported chip x head dim (16, 64, 96, 128, 192, 256) x {Parallax,
// softmax, GQA decode}, and sm_90/sm_90a x head dim x {Parallax, decode}
// with bulk copies, and sm_90/sm_90a x head dims 64-256 x {Parallax, decode}
// with tensor-map copies: generated, then assembled by ptxas.
// RUN: rm -rf %t && %S/ptxas-all.sh parallax-gen %ptxas %t | FileCheck %s
// CHECK: ptxas accepted 130 kernels
