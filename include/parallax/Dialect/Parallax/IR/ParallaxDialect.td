//===- ParallaxDialect.td - the parallax dialect -------------*- tablegen -*-===//
#ifndef PARALLAX_DIALECT_TD
#define PARALLAX_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Parallax_Dialect : Dialect {
  let name = "parallax";
  let cppNamespace = "::mlir::parallax";
  let summary = "Softmax and Parallax attention, from whole ops to fused tiles";
  let description = [{
    The `parallax` dialect expresses attention at two levels.

    High level: `parallax.attention`, `parallax.decode_attention` and
    `parallax.varlen_attention` compute softmax attention (no probe) or
    Parallax attention (`probe %r`):
    `o = vbar - Cov_a(v, k) r`, written in streaming form as
    `o = (O1/d1)(1 + d2/d1) - O2/d1`. They work on tensors (value semantics),
    so that tiling and fusion are rewrites of SSA values and bufferization
    stays upstream's job.

    Tiled level: `parallax.tile_*` ops, `parallax.softmax_step` and
    `parallax.finalize` express one program of the flash loop on small
    statically shaped tiles: loads of Q/R/K/V tiles, tile products, masking,
    the online-softmax step whose one running max and one rescale factor serve
    all four accumulators (d1, d2, O1, O2), and the finalize.

    Layout encodings (`#parallax.blocked`, `#parallax.mma`,
    `#parallax.shared`) describe how a tile is spread over threads, tensor
    cores and shared memory for the GPU stages.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class Parallax_Op<string mnemonic, list<Trait> traits = []>
    : Op<Parallax_Dialect, mnemonic, traits>;

class Parallax_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Parallax_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

#endif // PARALLAX_DIALECT_TD
