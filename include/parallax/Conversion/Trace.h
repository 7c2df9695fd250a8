//===- Trace.h - phase timestamps of generated kernels ---------*- C++ -*-===//
//
// With `convert-parallax-to-nvvm{trace-phases=1}` (parallax-gen
// --trace-phases) thread 0 of every CTA writes one record of kTraceSlots u64
// to the global array `parallax_trace`, at record index
// blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z) (CTAs past
// kTraceCapacity record nothing):
//   slot 0: %globaltimer at entry (ns), slot 1: %globaltimer at exit,
//   slot 2: %smid, slot kTraceClock0 + p: %clock64 at phase point p.
// Points a CTA does not pass stay as the previous run left them (the reader
// zeroes the array first).
//
//===----------------------------------------------------------------------===//
#ifndef PARALLAX_CONVERSION_TRACE_H
#define PARALLAX_CONVERSION_TRACE_H

#include <array>
#include <cstdint>

namespace mlir::parallax {

enum class TracePoint : int64_t {
  Entry,            ///< kernel entry
  LoopBegin,        ///< key loop: before the prologue copies
  LoopEnd,          ///< key loop done (this warp group's tiles)
  GroupsMerged,     ///< warp groups merged (the CTA's result or partial)
  PartialStored,    ///< split-KV: partial in the workspace (cluster launch:
                    ///< in the CTA's shared memory, or pushed into rank 0's),
                    ///< CTA barrier passed
  Counted,          ///< split-KV: fence and counter increment done (cluster
                    ///< launch: the cluster barrier passed, or rank 0 has
                    ///< every pushed partial)
  LastKnown,        ///< split-KV: the OR barrier says whether this CTA is last
                    ///< (cluster launch: the rows this CTA merges are known)
  SplitsMerged,     ///< split-KV: the last CTA merged every split (cluster
                    ///< launch: every CTA merged its rows, or rank 0 all)
  Exit,             ///< before return
  Count
};

inline constexpr std::array<const char *, 9> kTracePointNames = {
    "entry",          "loop_begin", "loop_end",     "groups_merged",
    "partial_stored", "counted",    "last_known",   "splits_merged",
    "exit"};
static_assert(kTracePointNames.size() == static_cast<size_t>(TracePoint::Count));

inline constexpr int64_t kTraceSlots = 16;
inline constexpr int64_t kTraceEntryTimeSlot = 0; ///< %globaltimer at entry
inline constexpr int64_t kTraceExitTimeSlot = 1;  ///< %globaltimer at exit
inline constexpr int64_t kTraceSmIdSlot = 2;      ///< %smid
inline constexpr int64_t kTraceClock0 = 3;        ///< %clock64 of point 0
inline constexpr int64_t kTraceCapacity = 16384; ///< CTAs with a record
static_assert(kTraceClock0 + static_cast<int64_t>(TracePoint::Count) <= kTraceSlots);

} // namespace mlir::parallax

#endif // PARALLAX_CONVERSION_TRACE_H
