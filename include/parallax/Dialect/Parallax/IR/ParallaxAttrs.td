//===- ParallaxAttrs.td - layout encodings -------------------*- tablegen -*-===//
#ifndef PARALLAX_ATTRS_TD
#define PARALLAX_ATTRS_TD

include "parallax/Dialect/Parallax/IR/ParallaxDialect.td"

def Parallax_BlockedLayoutAttr : Parallax_Attr<"BlockedLayout", "blocked"> {
  let summary = "A tile spread over threads and warps in contiguous blocks";
  let description = [{
    Each thread owns `sizePerThread` contiguous elements; `threadsPerWarp`
    threads form a warp (their product is 32); `warpsPerCTA` warps cover the
    tile; `order` lists the dimensions from fastest to slowest varying.

    ```mlir
    #parallax.blocked<sizePerThread = [1, 8], threadsPerWarp = [4, 8],
                      warpsPerCTA = [4, 1], order = [1, 0]>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"unsigned">:$sizePerThread,
                        ArrayRefParameter<"unsigned">:$threadsPerWarp,
                        ArrayRefParameter<"unsigned">:$warpsPerCTA,
                        ArrayRefParameter<"unsigned">:$order);
  let assemblyFormat = [{
    `<` `sizePerThread` `=` `[` $sizePerThread `]` `,`
    `threadsPerWarp` `=` `[` $threadsPerWarp `]` `,`
    `warpsPerCTA` `=` `[` $warpsPerCTA `]` `,`
    `order` `=` `[` $order `]` `>`
  }];
  let genVerifyDecl = 1;
}

def Parallax_MmaLayoutAttr : Parallax_Attr<"MmaLayout", "mma"> {
  let summary = "Accumulator layout of a tensor-core product";
  let description = [{
    `version` 2 is the warp-level `mma.sync` family (m16n8k16, sm_80 and up);
    version 3 is Hopper's warpgroup MMA (sm_90a). `warpsPerCTA` gives how the
    warps tile the product; `instrShape` the shape of one instruction.

    ```mlir
    #parallax.mma<version = 2, warpsPerCTA = [4, 1], instrShape = [16, 8, 16]>
    ```
  }];
  let parameters = (ins "unsigned":$version,
                        ArrayRefParameter<"unsigned">:$warpsPerCTA,
                        ArrayRefParameter<"unsigned">:$instrShape);
  let assemblyFormat = [{
    `<` `version` `=` $version `,`
    `warpsPerCTA` `=` `[` $warpsPerCTA `]` `,`
    `instrShape` `=` `[` $instrShape `]` `>`
  }];
  let genVerifyDecl = 1;
}

def Parallax_SharedLayoutAttr : Parallax_Attr<"SharedLayout", "shared"> {
  let summary = "A tile staged in shared memory, swizzled to avoid bank conflicts";
  let description = [{
    Rows of `vec` elements are XOR-swizzled in groups: element group `g` of
    row `r` goes to group `g ^ ((r / perPhase) % maxPhase)`. `stages` is the
    depth of the multi-buffered pipeline (1 = no pipelining).

    ```mlir
    #parallax.shared<vec = 8, perPhase = 1, maxPhase = 8, order = [1, 0], stages = 2>
    ```
  }];
  let parameters = (ins "unsigned":$vec, "unsigned":$perPhase,
                        "unsigned":$maxPhase,
                        ArrayRefParameter<"unsigned">:$order,
                        "unsigned":$stages);
  let assemblyFormat = [{
    `<` `vec` `=` $vec `,` `perPhase` `=` $perPhase `,` `maxPhase` `=` $maxPhase
    `,` `order` `=` `[` $order `]` `,` `stages` `=` $stages `>`
  }];
  let genVerifyDecl = 1;
}

#endif // PARALLAX_ATTRS_TD
