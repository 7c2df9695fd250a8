// RUN: parallax-opt %s -parallax-tile-attention="block-m=64 block-n=64" -parallax-report-intensity -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNFUSED
// RUN: parallax-opt %s -parallax-tile-attention="block-m=64 block-n=64" -parallax-fuse -parallax-report-intensity -o /dev/null 2>&1 | FileCheck %s --check-prefix=FUSED

// Parallax bf16, D = 128, 64-row query tiles, 64-key tiles. Per K/V tile the
// four products do 4 x 2*64*64*128 = 4194304 FLOPs either way; unfused, each
// product loads its own 64x128 bf16 K or V tile (4 x 16384 bytes), fused the
// K and V tiles are read once (2 x 16384): twice the FLOPs per K/V byte.

// UNFUSED: remark: parallax intensity: kv-loop flops=4194304 kv-bytes=65536 flops/kv-byte=64.0 dots=4 kv-loads=4 q-bytes=32768 o-bytes=16384
// FUSED: remark: parallax intensity: kv-loop flops=4194304 kv-bytes=32768 flops/kv-byte=128.0 dots=2 kv-loads=2 q-bytes=32768 o-bytes=16384

// Softmax (no probe) is already one stream: 2 products, 2 loads, 64 FLOPs/byte.
// UNFUSED: remark: parallax intensity: kv-loop flops=2097152 kv-bytes=32768 flops/kv-byte=64.0 dots=2 kv-loads=2
// FUSED: remark: parallax intensity: kv-loop flops=2097152 kv-bytes=32768 flops/kv-byte=64.0 dots=2 kv-loads=2

func.func @parallax(%q: tensor<1x1x256x128xbf16>, %k: tensor<1x1x256x128xbf16>,
                    %v: tensor<1x1x256x128xbf16>, %r: tensor<1x1x256x128xbf16>) -> tensor<1x1x256x128xbf16> {
  %o = parallax.attention %q, %k, %v probe %r
      : tensor<1x1x256x128xbf16>, tensor<1x1x256x128xbf16>, tensor<1x1x256x128xbf16>, tensor<1x1x256x128xbf16> -> tensor<1x1x256x128xbf16>
  return %o : tensor<1x1x256x128xbf16>
}

func.func @softmax(%q: tensor<1x1x256x128xbf16>, %k: tensor<1x1x256x128xbf16>,
                   %v: tensor<1x1x256x128xbf16>) -> tensor<1x1x256x128xbf16> {
  %o = parallax.attention %q, %k, %v
      : tensor<1x1x256x128xbf16>, tensor<1x1x256x128xbf16>, tensor<1x1x256x128xbf16> -> tensor<1x1x256x128xbf16>
  return %o : tensor<1x1x256x128xbf16>
}
