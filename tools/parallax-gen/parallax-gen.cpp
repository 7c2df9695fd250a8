//===- parallax-gen.cpp - generate attention kernels ----------------------===//
//
// Writes NAME.ptx and NAME.json (entry, parameters, grid and block formulas,
// shared memory, options, compiler version) for one kernel configuration.
//
//   parallax-gen --head-dim=128 --dtype=bf16 --hq=32 --hkv=8 --decode --chip=sm_90 -o out/
//   parallax-gen --softmax --causal --head-dim=64 --dump-dir=stages/ -o out/
//
//===----------------------------------------------------------------------===//
#include "parallax/Generator/KernelGenerator.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;

// --help lists these only; LLVM's own flags (e.g. --time-passes) still parse.
static cl::OptionCategory GenCategory("parallax-gen options");

static cl::opt<bool> Softmax("softmax", cl::desc("softmax attention (default: Parallax)"), cl::cat(GenCategory));
static cl::opt<bool> Decode("decode", cl::desc("decode against a KV cache with per-sequence lengths"), cl::cat(GenCategory));
static cl::opt<bool> Varlen("varlen", cl::desc("variable-length batch: packed [T, H, D] with cu_seqlens"), cl::cat(GenCategory));
static cl::opt<int64_t> MaxSeqlen("max-seqlen", cl::desc("varlen: longest sequence the kernel serves"), cl::init(4096), cl::cat(GenCategory));
static cl::opt<int64_t> PageSize("page-size", cl::desc("decode: paged KV cache with this page size (16..256)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<int64_t> HeadDim("head-dim", cl::desc("head dim: a multiple of 16 up to 256"), cl::init(128), cl::cat(GenCategory));
static cl::opt<int64_t> Hq("hq", cl::desc("query heads"), cl::init(8), cl::cat(GenCategory));
static cl::opt<int64_t> Hkv("hkv", cl::desc("key/value heads"), cl::init(8), cl::cat(GenCategory));
static cl::opt<std::string> Dtype("dtype", cl::desc("bf16 or f16"), cl::init("bf16"), cl::cat(GenCategory));
static cl::opt<bool> Causal("causal", cl::desc("causal mask, aligned to the end of the keys"), cl::cat(GenCategory));
static cl::opt<int64_t> Window("window", cl::desc("sliding window in keys (0 = none)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<double> Scale("scale", cl::desc("logit scale (0 = 1/sqrt(D))"), cl::init(0), cl::cat(GenCategory));
static cl::opt<std::string> Chip("chip", cl::desc("sm_80, sm_86, sm_89, sm_90 or sm_90a"), cl::init("sm_80"), cl::cat(GenCategory));
static cl::opt<int64_t> BlockM("block-m", cl::desc("query rows per tile (0 = heuristic)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<int64_t> BlockN("block-n", cl::desc("keys per tile (0 = heuristic)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<int64_t> NumWarps("num-warps", cl::desc("warps per CTA (0 = heuristic)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<int64_t> KvGroups("kv-groups", cl::desc("warp groups splitting the key tiles (0 = heuristic)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<int> SplitKv("split-kv", cl::desc("CTAs split the key tiles: 1 on, 0 off, -1 heuristic (decode)"), cl::init(-1), cl::cat(GenCategory));
static cl::opt<int64_t> NumStages("num-stages", cl::desc("K/V shared-memory stages, 1 to 4 (0 = heuristic)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<int64_t> MinCtasPerSm("min-ctas-per-sm", cl::desc("ask ptxas to fit this many CTAs per SM (caps registers; 0 = heuristic)"), cl::init(0), cl::cat(GenCategory));
static cl::opt<bool> BulkCopy("bulk-copy", cl::desc("sm_90+: K/V rows by cp.async.bulk (TMA engine) + mbarriers instead of cp.async"), cl::init(false), cl::cat(GenCategory));
static cl::opt<bool> TmaCopy("tma", cl::desc("sm_90+: K/V tiles by tensor-map TMA copies (cp.async.bulk.tensor, 128-byte swizzle) + mbarriers instead of cp.async; the kernel takes a CUtensorMap per K/V cache, which the runtime encodes"), cl::init(false), cl::cat(GenCategory));
static cl::opt<std::string> Name("name", cl::desc("kernel entry name (default: from the options)"), cl::init(""), cl::cat(GenCategory));
static cl::opt<std::string> OutDir("o", cl::desc("output directory"), cl::init("."), cl::cat(GenCategory));
static cl::opt<std::string> DumpDir("dump-dir", cl::desc("write every stage (01-...mlir ... 07-kernel.ptx) here"), cl::init(""), cl::cat(GenCategory));
static cl::opt<bool> TracePhases("trace-phases", cl::desc("profiling: thread 0 of each CTA records phase timestamps in the global parallax_trace (see docs/Debugging.md)"), cl::init(false), cl::cat(GenCategory));
static cl::opt<bool> Timing("timing", cl::desc("print the wall time of every stage"), cl::init(false), cl::cat(GenCategory));
static cl::alias DumpDirAlias("parallax-dump-dir", cl::desc("Alias for --dump-dir"), cl::aliasopt(DumpDir), cl::cat(GenCategory));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(GenCategory);
  cl::ParseCommandLineOptions(argc, argv, "Generate Parallax / softmax attention kernels (PTX + metadata)\n");
  mlir::parallax::GenOptions o;
  o.probe = !Softmax;
  o.decode = Decode;
  o.varlen = Varlen;
  o.maxSeqlen = MaxSeqlen;
  o.pageSize = PageSize;
  o.headDim = HeadDim;
  o.hq = Hq;
  o.hkv = Hkv;
  o.dtype = Dtype;
  o.causal = Causal;
  o.window = Window;
  o.scale = Scale;
  o.chip = Chip;
  o.blockM = BlockM;
  o.blockN = BlockN;
  o.numWarps = NumWarps;
  o.numStages = NumStages;
  o.bulkCopy = BulkCopy;
  o.tmaCopy = TmaCopy;
  o.minCtasPerSm = MinCtasPerSm;
  o.kvGroups = KvGroups;
  o.splitKv = SplitKv;
  o.name = Name;
  o.dumpDir = DumpDir;
  o.tracePhases = TracePhases;
  auto t0 = std::chrono::steady_clock::now();
  auto k = mlir::parallax::generateKernel(o);
  if (!k) {
    errs() << "parallax-gen: error: " << toString(k.takeError()) << "\n";
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (std::error_code ec = sys::fs::create_directories(OutDir)) {
    errs() << "parallax-gen: error: cannot create " << OutDir << ": " << ec.message() << "\n";
    return 1;
  }
  // Write both files to temporaries first so a failure leaves nothing half-written.
  for (auto [ext, text] : {std::pair<const char *, std::string *>{".ptx", &k->ptx},
                           {".json", &k->metadataJson}}) {
    SmallString<256> path(OutDir);
    sys::path::append(path, k->name + ext);
    std::string tmp = std::string(path) + ".tmp";
    std::error_code ec;
    {
      raw_fd_ostream os(tmp, ec);
      if (!ec)
        os << *text;
    }
    if (ec || (ec = sys::fs::rename(tmp, path))) {
      errs() << "parallax-gen: error: cannot write " << path << ": " << ec.message() << "\n";
      return 1;
    }
  }
  if (Timing)
    for (auto &[stage, t] : k->stageSeconds)
      outs() << format("  %-20s %.3f s\n", stage.c_str(), t);
  outs() << k->name << ": wrote " << OutDir << "/" << k->name << ".{ptx,json} in "
         << format("%.3f", secs) << " s\n";
  return 0;
}
