//===- ParallaxDialect.cpp - dialect and layout attributes ----------------===//
#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h"
#include "parallax/Dialect/Parallax/IR/ParallaxAttrs.h"
#include "parallax/Dialect/Parallax/IR/ParallaxOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::parallax;

#include "parallax/Dialect/Parallax/IR/ParallaxDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "parallax/Dialect/Parallax/IR/ParallaxAttrs.cpp.inc"

void ParallaxDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "parallax/Dialect/Parallax/IR/ParallaxOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "parallax/Dialect/Parallax/IR/ParallaxAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Layout verifiers
//===----------------------------------------------------------------------===//

static std::string list(ArrayRef<unsigned> xs) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(xs, os);
  os << "]";
  return s;
}

static int64_t product(ArrayRef<unsigned> xs) {
  int64_t p = 1;
  for (unsigned x : xs)
    p *= x;
  return p;
}

// `order` must be a permutation of [0, rank).
static LogicalResult verifyOrder(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<unsigned> order, size_t rank) {
  if (order.size() != rank)
    return emitError() << "order has " << order.size()
                       << " entries but the layout has rank " << rank;
  SmallVector<bool> seen(rank, false);
  for (unsigned d : order) {
    if (d >= rank || seen[d])
      return emitError() << "order must be a permutation of [0, " << rank
                         << "), got " << list(order);
    seen[d] = true;
  }
  return success();
}

LogicalResult
BlockedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          ArrayRef<unsigned> sizePerThread,
                          ArrayRef<unsigned> threadsPerWarp,
                          ArrayRef<unsigned> warpsPerCTA,
                          ArrayRef<unsigned> order) {
  size_t rank = sizePerThread.size();
  if (rank == 0)
    return emitError() << "blocked layout needs at least one dimension";
  if (threadsPerWarp.size() != rank || warpsPerCTA.size() != rank)
    return emitError() << "sizePerThread, threadsPerWarp and warpsPerCTA must "
                          "have the same rank, got "
                       << rank << ", " << threadsPerWarp.size() << " and "
                       << warpsPerCTA.size();
  if (llvm::is_contained(sizePerThread, 0u) ||
      llvm::is_contained(threadsPerWarp, 0u) ||
      llvm::is_contained(warpsPerCTA, 0u))
    return emitError() << "blocked layout sizes must be positive";
  if (product(threadsPerWarp) != 32)
    return emitError() << "threadsPerWarp must multiply to 32 (a warp), got "
                       << product(threadsPerWarp);
  return verifyOrder(emitError, order, rank);
}

LogicalResult MmaLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                    unsigned version,
                                    ArrayRef<unsigned> warpsPerCTA,
                                    ArrayRef<unsigned> instrShape) {
  if (version != 2 && version != 3)
    return emitError() << "mma version must be 2 (mma.sync) or 3 (wgmma), got "
                       << version;
  if (warpsPerCTA.size() != 2 || llvm::is_contained(warpsPerCTA, 0u))
    return emitError() << "mma warpsPerCTA must be two positive numbers";
  if (instrShape.size() != 3)
    return emitError() << "mma instrShape must be [M, N, K], got "
                       << instrShape.size() << " entries";
  if (version == 2 && !(instrShape[0] == 16 && instrShape[1] == 8 &&
                        instrShape[2] == 16))
    return emitError() << "mma version 2 supports instrShape [16, 8, 16], got "
                       << list(instrShape);
  if (version == 3 && (instrShape[0] != 64 || instrShape[1] % 8 != 0 ||
                       instrShape[1] == 0 || instrShape[1] > 256 ||
                       instrShape[2] != 16))
    return emitError() << "mma version 3 (wgmma) needs instrShape [64, N, 16] "
                          "with N a multiple of 8 up to 256, got "
                       << list(instrShape);
  if (version == 3 && warpsPerCTA[0] % 4 != 0)
    return emitError() << "mma version 3 issues from warpgroups: warpsPerCTA[0] "
                          "must be a multiple of 4, got "
                       << warpsPerCTA[0];
  return success();
}

LogicalResult
SharedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         unsigned vec, unsigned perPhase, unsigned maxPhase,
                         ArrayRef<unsigned> order, unsigned stages) {
  if (vec == 0 || perPhase == 0 || maxPhase == 0 || stages == 0)
    return emitError() << "shared layout vec, perPhase, maxPhase and stages "
                          "must be positive";
  if (!llvm::isPowerOf2_32(maxPhase))
    return emitError() << "shared layout maxPhase must be a power of two, got "
                       << maxPhase;
  return verifyOrder(emitError, order, order.size() == 0 ? 1 : order.size());
}
