// REQUIRES: ptxas
// Every supported chip x head dim (16, 64, 96, 128, 192, 256) x {Parallax,
// softmax, GQA decode}: generated, then assembled by ptxas.
// RUN: rm -rf %t && %S/ptxas-all.sh parallax-gen %ptxas %t | FileCheck %s
// CHECK: ptxas accepted 90 kernels
