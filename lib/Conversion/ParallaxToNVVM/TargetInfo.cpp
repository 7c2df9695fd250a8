//===- TargetInfo.cpp - facts about the NVIDIA targets --------------------===//
#include "parallax/Conversion/TargetInfo.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir::parallax;

// Shared memory per block with cudaFuncAttributeMaxDynamicSharedMemorySize:
// A100 163 KB, GA10x/AD10x 99 KB, H100/H200 227 KB; per SM 164, 100 and
// 228 KB (CUDA programming guide, compute capabilities table). PTX 8.0 is
// the first with sm_90a; sm_90 kernels use 8.1 for st.async (the one-row
// cluster merge; CUDA 12.1 drivers and later).
static const TargetInfo kTargets[] = {
    {"sm_80", 80, 80, 166912, 167936, 255, 108, false},
    {"sm_86", 86, 80, 101376, 102400, 255, 84, false},
    {"sm_89", 89, 80, 101376, 102400, 255, 58, false},
    {"sm_90", 90, 81, 232448, 233472, 255, 132, false},
    {"sm_90a", 90, 81, 232448, 233472, 255, 132, true},
};

llvm::ArrayRef<TargetInfo> mlir::parallax::supportedTargets() {
  return kTargets;
}

const TargetInfo *mlir::parallax::lookupTarget(llvm::StringRef chip) {
  for (const TargetInfo &t : kTargets)
    if (t.chip == chip)
      return &t;
  return nullptr;
}

std::string mlir::parallax::supportedChipsList() {
  std::string s;
  for (const TargetInfo &t : kTargets) {
    if (!s.empty())
      s += ", ";
    s += t.chip.str();
  }
  return s;
}
