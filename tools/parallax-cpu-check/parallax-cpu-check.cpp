//===- parallax-cpu-check.cpp - run one kernel on the host ----------------===//
//
// Builds one attention kernel for the given shape and options, runs it on the
// CPU through the same tiling and fusion passes the GPU path uses, and
// compares it with the float64 reference. Exit code 0 only within tolerance.
//
//   parallax-cpu-check --b=2 --hq=8 --hkv=2 --lq=100 --lk=300 --d=64 --causal
//
//===----------------------------------------------------------------------===//
#include "parallax/CPURunner/CpuRunner.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

// --help lists these only; LLVM's own flags still parse.
static cl::OptionCategory ToolCategory("parallax-cpu-check options");
using namespace parallax;

static cl::opt<int64_t> B("b", cl::desc("batch"), cl::init(1), cl::cat(ToolCategory));
static cl::opt<int64_t> Hq("hq", cl::desc("query heads"), cl::init(1), cl::cat(ToolCategory));
static cl::opt<int64_t> Hkv("hkv", cl::desc("key/value heads"), cl::init(1), cl::cat(ToolCategory));
static cl::opt<int64_t> Lq("lq", cl::desc("queries per sequence"), cl::init(64), cl::cat(ToolCategory));
static cl::opt<int64_t> Lk("lk", cl::desc("keys per sequence (decode: cache length Lmax)"), cl::init(64), cl::cat(ToolCategory));
static cl::opt<int64_t> D("d", cl::desc("head dim"), cl::init(64), cl::cat(ToolCategory));
static cl::opt<bool> Causal("causal", cl::desc("end-aligned causal mask"), cl::cat(ToolCategory));
static cl::opt<int64_t> Window("window", cl::desc("sliding window (keys), 0 = none"), cl::init(0), cl::cat(ToolCategory));
static cl::opt<double> Scale("scale", cl::desc("logit scale, 0 = 1/sqrt(D)"), cl::init(0), cl::cat(ToolCategory));
static cl::opt<bool> Softmax("softmax", cl::desc("softmax attention (no probe r)"), cl::cat(ToolCategory));
static cl::opt<bool> Decode("decode", cl::desc("parallax.decode_attention against a cache"), cl::cat(ToolCategory));
static cl::list<int> SeqLens("seq-lens", cl::desc("decode: length of each sequence"), cl::CommaSeparated);
static cl::list<int> VarlenQ("varlen-q", cl::desc("varlen: query length of each sequence"), cl::CommaSeparated);
static cl::list<int> VarlenK("varlen-k", cl::desc("varlen: key length of each sequence"), cl::CommaSeparated);
static cl::opt<int64_t> PageSize("page-size", cl::desc("decode: paged cache with pages of this many keys (0 = contiguous)"), cl::init(0), cl::cat(ToolCategory));
static cl::opt<std::string> Dtype("dtype", cl::desc("f32 or bf16"), cl::init("f32"), cl::cat(ToolCategory));
static cl::opt<int64_t> BlockM("block-m", cl::desc("query rows per tile, 0 = auto"), cl::init(64), cl::cat(ToolCategory));
static cl::opt<int64_t> BlockN("block-n", cl::desc("keys per tile"), cl::init(64), cl::cat(ToolCategory));
static cl::opt<bool> NoFuse("no-fuse", cl::desc("skip the three fusion passes"), cl::cat(ToolCategory));
static cl::opt<bool> NoPackGqa("no-pack-gqa", cl::desc("one query head per tile"), cl::cat(ToolCategory));
static cl::opt<uint64_t> Seed("seed", cl::desc("random seed"), cl::init(1), cl::cat(ToolCategory));
static cl::opt<bool> EmitIR("emit-ir", cl::desc("print the high-level IR and exit"), cl::cat(ToolCategory));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(ToolCategory);
  cl::ParseCommandLineOptions(argc, argv, "Run a parallax kernel on the CPU and check it\n");
  cpu::KernelSpec spec;
  spec.shape = {B, Hq, Hkv, Lq, Lk, D};
  spec.options.causal = Causal;
  spec.options.window = Window;
  spec.options.scale = Scale;
  spec.probe = !Softmax;
  spec.decode = Decode;
  spec.pageSize = PageSize;
  spec.varlenQ.assign(VarlenQ.begin(), VarlenQ.end());
  spec.varlenK.assign(VarlenK.begin(), VarlenK.end());
  if (Dtype == "f32")
    spec.elementType = cpu::ElementType::F32;
  else if (Dtype == "bf16")
    spec.elementType = cpu::ElementType::BF16;
  else {
    errs() << "error: --dtype must be f32 or bf16 on the CPU path, got '" << Dtype << "'\n";
    return 2;
  }
  spec.blockM = BlockM;
  spec.blockN = BlockN;
  spec.fuse = !NoFuse;
  spec.packGqa = !NoPackGqa;
  if (EmitIR) {
    outs() << cpu::buildAttentionModule(spec);
    return 0;
  }
  std::vector<int32_t> lens(SeqLens.begin(), SeqLens.end());
  auto res = cpu::check(spec, Seed, lens);
  if (!res) {
    errs() << "error: " << toString(res.takeError()) << "\n";
    return 2;
  }
  double tol = cpu::tolerance(spec.elementType);
  bool ok = res->relL2 <= tol;
  outs() << "rel-L2 " << format("%.3e", res->relL2) << " (tolerance "
         << format("%.0e", tol) << ") over " << res->elements
         << " elements; compile " << format("%.2f", res->compileSeconds)
         << " s, run " << format("%.3f", res->runSeconds) << " s: "
         << (ok ? "PASS" : "FAIL") << "\n";
  return ok ? 0 : 1;
}
