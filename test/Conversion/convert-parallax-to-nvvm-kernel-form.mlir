// RUN: parallax-opt %s -split-input-file --parallax-lower-to-nvvm="chip=sm_90 block-m=8 block-n=16 num-warps=1" -verify-diagnostics

// What the GPU lowering turns into one kernel, and the clear errors for the
// rest (each of these crashed the lowering, or was silently dropped, before):
// tensor arguments only, one attention whose result the function returns,
// tensors read from the arguments, a name PTX can spell.

// expected-error @+1 {{a GPU kernel takes ranked tensors only (one pointer each): argument #0 is 'f32'}}
func.func @scalar_arg(%x: f32, %q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}

// -----

// expected-error @+1 {{parallax.arg_names must be an array of 3 strings (one per argument), got [1, 2, 3]}}
func.func @arg_names(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> attributes {parallax.arg_names = [1, 2, 3]} {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}

// -----

func.func @two(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  // expected-error @+1 {{one attention per GPU kernel: @two has 2 tiled programs; give each attention op its own function}}
  %p = parallax.attention %o, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %p : tensor<1x1x16x64xbf16>
}

// -----

func.func @epilogue(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  %p = arith.addf %o, %q : tensor<1x1x16x64xbf16>
  // expected-error @+1 {{a GPU kernel's one output is its attention's result: @epilogue must return exactly that value (no other results, and no ops on it after the attention)}}
  return %p : tensor<1x1x16x64xbf16>
}

// -----

func.func @not_an_argument(%q: tensor<1x1x16x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %k = tensor.empty() : tensor<1x1x64x64xbf16>
  // expected-error @+1 {{operand #0 comes from 'tensor.empty' outside the tiled program: a GPU kernel reads its tensors from the function's arguments (make it an argument of @not_an_argument)}}
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}

// -----

func.func @in_if(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %c = arith.constant true
  %x = scf.if %c -> tensor<1x1x16x64xbf16> {
    // expected-error @+1 {{the tiled program must sit at the top level of @in_if, not inside 'scf.if'}}
    %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
    scf.yield %o : tensor<1x1x16x64xbf16>
  } else {
    scf.yield %q : tensor<1x1x16x64xbf16>
  }
  return %x : tensor<1x1x16x64xbf16>
}

// -----

// expected-error @+1 {{kernel name 'my.kernel' is not a PTX identifier: use letters, digits and '_', starting with a letter or '_'}}
func.func @"my.kernel"(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}

// -----

func.func @loose_tile_op(%a: tensor<16x16xf32>) -> tensor<32x16xf32> {
  // expected-error @+1 {{'parallax.tile_stack' op is outside a tiled program (scf.forall): the GPU lowering converts tiled attention programs only}}
  %s = parallax.tile_stack %a, %a : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<32x16xf32>
  return %s : tensor<32x16xf32>
}

// -----

// expected-error @+1 {{parallax.arg_names must be an array of 3 strings (one per argument), got []}}
func.func @short_arg_names(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> attributes {parallax.arg_names = []} {
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}

// -----

// expected-error @+1 {{a GPU kernel function has one block: @two_blocks has 2}}
func.func @two_blocks(%q: tensor<1x1x16x64xbf16>, %k: tensor<1x1x64x64xbf16>, %v: tensor<1x1x64x64xbf16>) -> tensor<1x1x16x64xbf16> {
  cf.br ^bb1
^bb1:
  %o = parallax.attention %q, %k, %v probe %q : tensor<1x1x16x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x64x64xbf16>, tensor<1x1x16x64xbf16> -> tensor<1x1x16x64xbf16>
  return %o : tensor<1x1x16x64xbf16>
}
