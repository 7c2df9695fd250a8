// RUN: parallax-opt %s -split-input-file -verify-diagnostics

// Every diagnostic of the layout encodings, one case each (the empty-rank
// case cannot be written in this syntax; unittests/Dialect checks it).

// expected-error @+1 {{sizePerThread, threadsPerWarp and warpsPerCTA must have the same rank, got 2, 1 and 2}}
func.func @f() attributes {l = #parallax.blocked<sizePerThread = [1, 1], threadsPerWarp = [32], warpsPerCTA = [4, 1], order = [1, 0]>} {
  return
}

// -----

// expected-error @+1 {{blocked layout sizes must be positive}}
func.func @f() attributes {l = #parallax.blocked<sizePerThread = [0, 1], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 0]>} {
  return
}

// -----

// expected-error @+1 {{threadsPerWarp must multiply to 32 (a warp), got 16}}
func.func @f() attributes {l = #parallax.blocked<sizePerThread = [1, 1], threadsPerWarp = [4, 4], warpsPerCTA = [4, 1], order = [1, 0]>} {
  return
}

// -----

// expected-error @+1 {{order has 1 entries but the layout has rank 2}}
func.func @f() attributes {l = #parallax.blocked<sizePerThread = [1, 1], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1]>} {
  return
}

// -----

// expected-error @+1 {{order must be a permutation of [0, 2), got [1, 1]}}
func.func @f() attributes {l = #parallax.blocked<sizePerThread = [1, 1], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1], order = [1, 1]>} {
  return
}

// -----

// expected-error @+1 {{mma version must be 2 (mma.sync) or 3 (wgmma), got 1}}
func.func @f() attributes {l = #parallax.mma<version = 1, warpsPerCTA = [4, 1], instrShape = [16, 8, 16]>} {
  return
}

// -----

// expected-error @+1 {{mma warpsPerCTA must be two positive numbers}}
func.func @f() attributes {l = #parallax.mma<version = 2, warpsPerCTA = [4], instrShape = [16, 8, 16]>} {
  return
}

// -----

// expected-error @+1 {{mma instrShape must be [M, N, K], got 2 entries}}
func.func @f() attributes {l = #parallax.mma<version = 2, warpsPerCTA = [4, 1], instrShape = [16, 8]>} {
  return
}

// -----

// expected-error @+1 {{mma version 2 supports instrShape [16, 8, 16], got [16, 16, 16]}}
func.func @f() attributes {l = #parallax.mma<version = 2, warpsPerCTA = [4, 1], instrShape = [16, 16, 16]>} {
  return
}

// -----

// expected-error @+1 {{mma version 3 (wgmma) needs instrShape [64, N, 16] with N a multiple of 8 up to 256, got [64, 12, 16]}}
func.func @f() attributes {l = #parallax.mma<version = 3, warpsPerCTA = [4, 1], instrShape = [64, 12, 16]>} {
  return
}

// -----

// expected-error @+1 {{mma version 3 issues from warpgroups: warpsPerCTA[0] must be a multiple of 4, got 2}}
func.func @f() attributes {l = #parallax.mma<version = 3, warpsPerCTA = [2, 1], instrShape = [64, 64, 16]>} {
  return
}

// -----

// expected-error @+1 {{shared layout vec, perPhase, maxPhase and stages must be positive}}
func.func @f() attributes {l = #parallax.shared<vec = 0, perPhase = 1, maxPhase = 8, order = [1, 0], stages = 2>} {
  return
}

// -----

// expected-error @+1 {{shared layout maxPhase must be a power of two, got 6}}
func.func @f() attributes {l = #parallax.shared<vec = 8, perPhase = 1, maxPhase = 6, order = [1, 0], stages = 2>} {
  return
}

// -----

// expected-error @+1 {{order must be a permutation of [0, 2), got [0, 0]}}
func.func @f() attributes {l = #parallax.shared<vec = 8, perPhase = 1, maxPhase = 8, order = [0, 0], stages = 2>} {
  return
}
