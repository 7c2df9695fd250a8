// RUN: not parallax-opt %s -convert-parallax-to-nvvm="chip=sm_70" 2>&1 | FileCheck %s
// CHECK: error: unsupported chip 'sm_70': supported are sm_80, sm_86, sm_89, sm_90, sm_90a
module {}
