//===- KernelGenerator.cpp - attention kernels for a head dim and GPU -----===//
#include "parallax/Generator/KernelGenerator.h"
#include "parallax/Conversion/Passes.h"
#include "parallax/Conversion/TargetInfo.h"
#include "parallax/Conversion/Trace.h"
#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"
#include "parallax/Target/PTXEmitter.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <chrono>
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace mlir;
using namespace mlir::parallax;

std::string mlir::parallax::compilerVersion() {
  return "parallax 0.1.0 (MLIR " LLVM_VERSION_STRING ")";
}

TileConfig mlir::parallax::chooseTileConfig(const GenOptions &o) {
  int64_t perWarp = queryRowsPerWarp(o.probe);
  int64_t group = o.hq / o.hkv;
  TileConfig c{};
  // Registers of one iteration: A operand D/16*4, S BN/8*4, O D/8*4.
  c.blockN = o.headDim > 128 ? 32 : 64;
  c.kvGroups = 1;
  c.splitKv = o.decode;
  c.numStages = 2;
  c.minCtasPerSm = 0;
  if (o.decode) {
    // Decode reads the whole cache for a handful of rows: split the key
    // tiles over warp groups of one CTA (merged at the end), 16-key tiles
    // and 4 groups, and 2 CTAs per SM where the shared memory holds them.
    // Timed on the H200 (docs/performance.md, sweeps): 2 per SM streams as
    // fast as 3 when one wave holds the grid, and a B=128 grid (1024 CTAs)
    // runs 3.9 waves of 2 per SM instead of 2.6 of 3, 9% faster.
    c.blockN = 16;
    const TargetInfo *t = lookupTarget(o.chip);
    int64_t rowBytes = stagedRowStride(o.headDim * 2, o.bulkCopy && t && t->computeCapability >= 90);
    auto perGroup = [&](int64_t stages) { return stages * 2 * c.blockN * rowBytes; };
    int64_t fit = t ? t->maxSharedBytes / perGroup(c.numStages) : 1;
    c.kvGroups = o.kvGroups ? o.kvGroups : std::max<int64_t>(1, std::min<int64_t>(4, fit));
    // (And registers: a CTA of warps x 32 threads at up to 255 each, of the
    // 64K per SM of every supported chip; 8 groups fit one CTA.)
    int64_t byRegisters = 65536 / (c.kvGroups * 32 * 255);
    auto ctasPerSm = [&](int64_t stages) {
      int64_t perCta = c.kvGroups * perGroup(stages) + kReservedSharedPerBlock;
      return t ? std::min<int64_t>({2, byRegisters, t->sharedBytesPerSM / perCta}) : 1;
    };
    int64_t ctas = ctasPerSm(c.numStages);
    c.minCtasPerSm = ctas >= 2 ? ctas : 0;
    // Three stages where they cost no CTA per SM, with room for the push
    // merge's inbox (8 splits of every group's slice: at most 6 row
    // registers and D/2 accumulator ones, split over the groups where they
    // divide; the lowering drops the push otherwise):
    // - one head per tile (G = 1) at 2 CTAs per SM: a warp then has two
    //   tiles in flight while it reads one, which the one-wave 8-CTA
    //   clusters of B = 1 need (L=4096 8.3 -> 7.9 us, L=8192 13.5 -> 12.4);
    //   packed GQA tiles keep two, since B=128, L=4096 ran 0.8-1.7% slower
    //   with three at G = 4 and 8 (0.4-0.6% at G = 1);
    // - 8 warp groups (the wide variant), one CTA per SM anyway: G=8, B=4,
    //   L=65536 280.7 -> 247.5 us; tied at B=8, L=16384-32768, B=16, G=1.
    int64_t blocks = o.headDim / 8;
    int64_t slice = 6 + (blocks % c.kvGroups == 0 ? o.headDim / 2 / c.kvGroups : o.headDim / 2);
    int64_t perCta3 = c.kvGroups * perGroup(3) + pushInboxBytes(c.kvGroups, slice);
    auto threeFit = [&](int64_t ctasNeeded) {
      return t && perCta3 <= t->maxSharedBytes &&
             ctasNeeded * (perCta3 + kReservedSharedPerBlock) <= t->sharedBytesPerSM;
    };
    if ((group == 1 && ctas >= 2 && threeFit(2)) || (c.kvGroups >= 8 && threeFit(1)))
      c.numStages = 3;
  }
  if (o.decode && group > 1) {
    // One tile holds the whole group, so each K/V tile is read once for it.
    c.packGqa = true;
    c.blockM = std::max<int64_t>(1, perWarp / group);
    c.numWarps = std::max<int64_t>(1, group * c.blockM / perWarp);
  } else if (o.decode) {
    c.packGqa = false;
    c.blockM = perWarp;
    c.numWarps = 1;
  } else {
    c.packGqa = false;
    c.numWarps = 4;
    c.blockM = perWarp * c.numWarps;
  }
  if (o.blockN)
    c.blockN = o.blockN;
  if (o.numWarps)
    c.numWarps = o.numWarps;
  if (o.blockM)
    c.blockM = o.blockM;
  if (o.kvGroups)
    c.kvGroups = o.kvGroups;
  if (o.splitKv >= 0)
    c.splitKv = o.splitKv;
  if (o.numStages)
    c.numStages = o.numStages;
  if (o.minCtasPerSm)
    c.minCtasPerSm = o.minCtasPerSm;
  return c;
}

llvm::Error mlir::parallax::validate(const GenOptions &o) {
  auto err = [](const std::string &s) { return llvm::createStringError(s); };
  if (o.headDim < 16 || o.headDim > 256 || o.headDim % 16)
    return err("head dim " + std::to_string(o.headDim) +
               " is not supported: supported head dims are multiples of 16 "
               "from 16 to 256 (e.g. 64, 96, 128, 192, 256)");
  if (o.dtype != "bf16" && o.dtype != "f16")
    return err("dtype '" + o.dtype + "' is not supported: use bf16 or f16");
  if (!lookupTarget(o.chip))
    return err("chip '" + o.chip + "' is not supported: supported are " +
               supportedChipsList());
  if (o.hq <= 0 || o.hkv <= 0 || o.hq % o.hkv)
    return err("Hq (" + std::to_string(o.hq) + ") must be a positive multiple "
               "of Hkv (" + std::to_string(o.hkv) + ")");
  int64_t group = o.hq / o.hkv, perWarp = queryRowsPerWarp(o.probe);
  if (o.decode && group > 1 && perWarp % group && group % perWarp)
    return err("GQA group " + std::to_string(group) +
               " cannot be packed in " + std::to_string(perWarp) +
               "-row warp tiles: use a power of two");
  if (o.varlen && o.decode)
    return err("--varlen and --decode are different forms: choose one");
  if (o.pageSize && (!o.decode || o.pageSize < 16 || o.pageSize > 256 ||
                     (o.pageSize & (o.pageSize - 1))))
    return err("page size " + std::to_string(o.pageSize) +
               " is not supported: paged caches are for --decode, with a "
               "power-of-two page size from 16 to 256");
  if (o.varlen && o.maxSeqlen <= 0)
    return err("max-seqlen must be positive, got " + std::to_string(o.maxSeqlen));
  if (o.window < 0)
    return err("window must be >= 0 (0 = none), got " + std::to_string(o.window));
  if (o.minCtasPerSm < 0 || o.minCtasPerSm > 32)
    return err("min-ctas-per-sm must be between 1 and 32 (0 = heuristic), got " +
               std::to_string(o.minCtasPerSm));
  if (o.kvGroups < 0 || o.kvGroups > 15)
    return err("kv-groups must be between 1 and 15 (0 = heuristic), got " +
               std::to_string(o.kvGroups));
  if (o.numStages < 0 || o.numStages > 4)
    return err("num-stages must be between 1 and 4 (0 = heuristic), got " +
               std::to_string(o.numStages));
  if (o.splitKv < -1 || o.splitKv > 1)
    return err("split-kv must be 1 (on), 0 (off) or -1 (heuristic), got " +
               std::to_string(o.splitKv));
  // The scale is an f32 attribute: 0 picks 1/sqrt(D); anything else must be
  // a positive, finite, normal f32.
  if (o.scale != 0 && !isValidScale(o.scale))
    return err("scale must be positive and a finite f32 (0 = 1/sqrt(D)), got " +
               (std::ostringstream() << o.scale).str());
  // The name is the PTX entry: a PTX identifier, and our own rules for files.
  if (!o.name.empty() && !isPtxIdentifier(o.name))
    return err("kernel name '" + o.name +
               "' is not supported: use letters, digits and '_', starting with a "
               "letter or '_' (it is the PTX entry and the file name)");
  return llvm::Error::success();
}

static std::string kernelName(const GenOptions &o) {
  std::ostringstream os;
  os << (o.probe ? "parallax" : "softmax")
     << (o.decode ? "_decode" : o.varlen ? "_varlen" : "_fwd")
     << "_d" << o.headDim << "_" << o.dtype << "_h" << o.hq << "x" << o.hkv;
  if (o.causal)
    os << "_causal";
  if (o.window)
    os << "_w" << o.window;
  if (o.pageSize)
    os << "_page" << o.pageSize;
  // Its own name, so it does not replace the cp.async kernel beside it (and
  // takes tensor-map parameters that kernel does not).
  const TargetInfo *t = lookupTarget(o.chip);
  if (o.tmaCopy && t && t->computeCapability >= 90)
    os << "_tma";
  return os.str();
}

static std::string highLevelIR(const GenOptions &o, const std::string &name) {
  std::string t = o.dtype;
  auto tensor = [&](int64_t heads) {
    return "tensor<?x" + std::to_string(heads) + "x?x" +
           std::to_string(o.headDim) + "x" + t + ">";
  };
  std::string qt = tensor(o.hq), kt = tensor(o.hkv), lt = "tensor<?xi32>";
  std::string bt = "tensor<?x?xi32>";
  if (o.pageSize) // [num_pages, Hkv, page, D]
    kt = "tensor<?x" + std::to_string(o.hkv) + "x" + std::to_string(o.pageSize) +
         "x" + std::to_string(o.headDim) + "x" + t + ">";
  std::vector<std::string> attrs;
  if (o.causal)
    attrs.push_back("causal");
  if (o.window)
    attrs.push_back("window = " + std::to_string(o.window) + " : i64");
  if (o.scale > 0) {
    std::ostringstream s;
    s.precision(9);
    s << std::scientific << o.scale;
    attrs.push_back("scale = " + s.str() + " : f32");
  }
  std::string attrText;
  for (size_t i = 0; i < attrs.size(); ++i)
    attrText += (i ? ", " : " {") + attrs[i];
  if (!attrs.empty())
    attrText += "}";
  std::ostringstream os;
  if (o.varlen) {
    auto packed = [&](int64_t heads) {
      return "tensor<?x" + std::to_string(heads) + "x" + std::to_string(o.headDim) +
             "x" + t + ">";
    };
    std::string pq = packed(o.hq), pk = packed(o.hkv), ct = "tensor<?xi32>";
    std::string mx = "max_seqlen_q = " + std::to_string(o.maxSeqlen) +
                     " : i64, max_seqlen_k = " + std::to_string(o.maxSeqlen) + " : i64";
    std::string a = attrText.empty() ? " {" + mx + "}"
                                     : attrText.substr(0, attrText.size() - 1) + ", " + mx + "}";
    os << "func.func @" << name << "(%q: " << pq << ", %k: " << pk << ", %v: " << pk
       << ", %cuq: " << ct << ", %cuk: " << ct << (o.probe ? ", %r: " + pq : "")
       << ") -> " << pq << " attributes {parallax.arg_names = [\"q\", \"k\", \"v\", "
       << "\"cu_seqlens_q\", \"cu_seqlens_k\"" << (o.probe ? ", \"r\"" : "") << "]} {\n"
       << "  %o = parallax.varlen_attention %q, %k, %v, %cuq, %cuk"
       << (o.probe ? " probe %r" : "") << a << " : " << pq << ", " << pk << ", " << pk
       << ", " << ct << ", " << ct << (o.probe ? ", " + pq : "") << " -> " << pq
       << "\n  return %o : " << pq << "\n}\n";
    return os.str();
  }
  std::string names = o.decode ? "\"q\", \"k_cache\", \"v_cache\", \"seq_lens\""
                               : "\"q\", \"k\", \"v\"";
  if (o.pageSize)
    names += ", \"block_table\"";
  if (o.probe)
    names += ", \"r\"";
  os << "func.func @" << name << "(%q: " << qt << ", %k: " << kt
     << ", %v: " << kt << (o.decode ? ", %lens: " + lt : "")
     << (o.pageSize ? ", %bt: " + bt : "")
     << (o.probe ? ", %r: " + qt : "") << ") -> " << qt
     << " attributes {parallax.arg_names = [" << names << "]} {\n"
     << "  %o = parallax." << (o.decode ? "decode_attention" : "attention")
     << " %q, %k, %v" << (o.decode ? ", %lens" : "")
     << (o.pageSize ? " block_table %bt" : "")
     << (o.probe ? " probe %r" : "") << attrText << " : " << qt << ", " << kt
     << ", " << kt << (o.decode ? ", " + lt : "")
     << (o.pageSize ? " block_table " + bt : "") << (o.probe ? ", " + qt : "")
     << " -> " << qt << "\n  return %o : " << qt << "\n}\n";
  return os.str();
}

static std::string toText(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  op->print(os);
  return s;
}

static llvm::Error writeFile(const std::string &dir, const std::string &name,
                             const std::string &text) {
  if (dir.empty())
    return llvm::Error::success();
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError("cannot write " + std::string(path) + ": " +
                                   ec.message());
  os << text;
  return llvm::Error::success();
}

llvm::Expected<GeneratedKernel>
mlir::parallax::generateKernel(const GenOptions &o) {
  if (llvm::Error e = validate(o))
    return std::move(e);
  GeneratedKernel out;
  out.name = o.name.empty() ? kernelName(o) : o.name;
  out.highLevelIR = highLevelIR(o, out.name);
  if (!o.dumpDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(o.dumpDir))
      return llvm::createStringError("cannot create " + o.dumpDir + ": " +
                                     ec.message());

  DialectRegistry registry;
  registry.insert<ParallaxDialect, func::FuncDialect, arith::ArithDialect,
                  scf::SCFDialect, tensor::TensorDialect, LLVM::LLVMDialect,
                  NVVM::NVVMDialect>();
  registerPTXTranslations(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  std::string diagnostics;
  llvm::raw_string_ostream diagOs(diagnostics);
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    diagOs << d << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(out.highLevelIR, &ctx);
  if (!module)
    return llvm::createStringError("internal error: generated IR does not "
                                   "parse: " + diagnostics);

  TileConfig tc = chooseTileConfig(o);
  struct Stage {
    const char *file;
    std::function<void(PassManager &)> passes;
  };
  ParallaxTileAttentionOptions tileOpts;
  tileOpts.blockM = tc.blockM;
  tileOpts.blockN = tc.blockN;
  tileOpts.numWarps = tc.numWarps;
  tileOpts.packGqa = tc.packGqa;
  ConvertParallaxToNVVMOptions nvvmOpts;
  nvvmOpts.chip = o.chip;
  nvvmOpts.numStages = tc.numStages;
  nvvmOpts.kvGroups = tc.kvGroups;
  nvvmOpts.splitKv = tc.splitKv;
  nvvmOpts.bulkCopy = o.bulkCopy;
  nvvmOpts.tmaCopy = o.tmaCopy;
  nvvmOpts.minCtasPerSm = tc.minCtasPerSm;
  nvvmOpts.tracePhases = o.tracePhases;
  Stage stages[] = {
      {"01-high-level.mlir", [](PassManager &) {}},
      {"02-tiled.mlir",
       [&](PassManager &pm) {
         pm.nest<func::FuncOp>().addPass(createParallaxTileAttention(tileOpts));
       }},
      {"03-fused.mlir", [&](PassManager &pm) { buildFusionPipeline(pm, /*canonicalize=*/false); }},
      {"04-nvvm.mlir",
       [&](PassManager &pm) {
         pm.addPass(createConvertParallaxToNVVM(nvvmOpts));
       }},
      {"05-llvm.mlir", [&](PassManager &pm) { buildNVVMToLLVMPipeline(pm); }},
  };
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&](const char *stage) {
    auto now = std::chrono::steady_clock::now();
    out.stageSeconds.emplace_back(stage, std::chrono::duration<double>(now - clock).count());
    clock = now;
  };
  for (Stage &s : stages) {
    PassManager pm(&ctx);
    s.passes(pm);
    if (failed(pm.run(*module)))
      return llvm::createStringError(std::string("stage ") + s.file + " failed:\n" +
                                     StringRef(diagnostics).rtrim().str());
    lap(s.file);
    // Printing a whole kernel costs tens of milliseconds: only when dumping.
    if (!o.dumpDir.empty())
      if (llvm::Error e = writeFile(o.dumpDir, s.file, toText(*module)))
        return std::move(e);
  }

  // Launch facts recorded on the kernel by the GPU lowering.
  LLVM::LLVMFuncOp kernel;
  module->walk([&](LLVM::LLVMFuncOp f) {
    if (f->hasAttr("nvvm.kernel"))
      kernel = f;
  });
  if (!kernel)
    return llvm::createStringError("internal error: no kernel was generated");
  llvm::json::Array params, grid, block;
  auto names = kernel->getAttrOfType<ArrayAttr>("parallax.param_names");
  // A tensor map names its source, the source's shape (-1: the dynamic
  // dimension parameter SOURCE.dimN) and its box (elements, inner first).
  llvm::StringMap<DictionaryAttr> maps;
  if (auto a = kernel->getAttrOfType<ArrayAttr>("parallax.tensor_maps"))
    for (Attribute m : a) {
      auto d = cast<DictionaryAttr>(m);
      maps[d.getAs<StringAttr>("param").getValue()] = d;
    }
  auto ints = [](Attribute a) {
    llvm::json::Array out;
    for (Attribute x : cast<ArrayAttr>(a))
      out.push_back(cast<IntegerAttr>(x).getInt());
    return out;
  };
  for (auto [i, t] : llvm::enumerate(kernel.getFunctionType().getParams())) {
    std::string name = cast<StringAttr>(names[i]).str();
    if (auto it = maps.find(name); it != maps.end()) {
      params.push_back(llvm::json::Object{
          {"name", name},
          {"type", "tensor_map"},
          {"source", it->second.getAs<StringAttr>("source").str()},
          {"shape", ints(it->second.get("shape"))},
          {"box", ints(it->second.get("box"))}});
      continue;
    }
    params.push_back(llvm::json::Object{
        {"name", name}, {"type", isa<LLVM::LLVMPointerType>(t) ? "ptr" : "i64"}});
  }
  for (Attribute a : kernel->getAttrOfType<ArrayAttr>("parallax.grid"))
    grid.push_back(cast<StringAttr>(a).str());
  for (Attribute a : kernel->getAttrOfType<ArrayAttr>("parallax.block"))
    block.push_back(cast<IntegerAttr>(a).getInt());
  int64_t smem = kernel->getAttrOfType<IntegerAttr>("parallax.shared_bytes").getInt();
  int64_t workspacePerCta = 0;
  if (auto w = kernel->getAttrOfType<IntegerAttr>("parallax.workspace_bytes_per_cta"))
    workspacePerCta = w.getInt();
  bool clusterMerge = kernel->hasAttr("parallax.cluster_merge");
  // The one-row merge applies to tiles of one query row: in a decode kernel
  // (G = 1) every tile when the query length q.dim2 is 1.
  std::string oneRowMergeDim;
  if (kernel->hasAttr("parallax.one_row_merge") && o.decode &&
      llvm::any_of(names, [](Attribute n) { return cast<StringAttr>(n).str() == "q.dim2"; }))
    oneRowMergeDim = "q.dim2";
  bool programmaticLaunch = kernel->hasAttr("parallax.programmatic_launch");

  llvm::LLVMContext llctx;
  PTXOptions ptxOpts;
  ptxOpts.chip = o.chip;
  auto llvmModule = translateToNVPTXModule(*module, llctx, ptxOpts);
  if (!llvmModule)
    return llvmModule.takeError();
  lap("06-kernel.ll");
  if (!o.dumpDir.empty()) {
    std::string ll;
    llvm::raw_string_ostream os(ll);
    (*llvmModule)->print(os, nullptr);
    if (llvm::Error e = writeFile(o.dumpDir, "06-kernel.ll", ll))
      return std::move(e);
  }
  auto ptx = emitPTX(**llvmModule, ptxOpts);
  if (!ptx)
    return ptx.takeError();
  out.ptx = std::move(*ptx);
  lap("07-kernel.ptx");

  auto hash = llvm::SHA256::hash(llvm::arrayRefFromStringRef(out.highLevelIR));
  std::string hex = llvm::toHex(hash, /*LowerCase=*/true);
  const TargetInfo *target = lookupTarget(o.chip);
  llvm::json::Object meta{
      {"entry", out.name},
      {"chip", o.chip},
      {"ptx_version", std::to_string(target->ptxVersion / 10) + "." +
                          std::to_string(target->ptxVersion % 10)},
      {"compiler", compilerVersion()},
      {"input_ir_sha256", hex},
      {"params", std::move(params)},
      {"grid", std::move(grid)},
      {"block", std::move(block)},
      {"shared_bytes", smem},
      // Split-KV: workspace = grid x*y*z CTAs x this; counters = one i32 per
      // program (grid / num_splits), zeroed once (the kernel re-zeroes them).
      {"workspace_bytes_per_cta", workspacePerCta},
      // Split-KV on sm_90+: a launch in clusters of num_splits CTAs (2 to 8)
      // along x merges the splits through distributed shared memory, without
      // the workspace and counters.
      {"cluster_merge", clusterMerge},
      // In a cluster launch with this dimension 1 (one query per sequence,
      // G = 1), the splits push their partials into one CTA ("": never).
      {"one_row_merge_dim", oneRowMergeDim},
      // sm_90+: the kernel waits for the previous grid (griddepcontrol.wait)
      // before touching memory, so it may be launched with programmatic
      // stream serialization (programmatic dependent launch).
      {"programmatic_launch", programmaticLaunch},
      {"options",
       llvm::json::Object{{"probe", o.probe},
                          {"decode", o.decode},
                          {"varlen", o.varlen},
                          {"page_size", o.pageSize},
                          {"max_seqlen", o.maxSeqlen},
                          {"head_dim", o.headDim},
                          {"hq", o.hq},
                          {"hkv", o.hkv},
                          {"dtype", o.dtype},
                          {"causal", o.causal},
                          {"window", o.window},
                          {"scale", o.scale},
                          {"block_m", tc.blockM},
                          {"block_n", tc.blockN},
                          {"num_warps", tc.numWarps},
                          {"pack_gqa", tc.packGqa},
                          {"kv_groups", tc.kvGroups},
                          {"split_kv", tc.splitKv},
                          {"num_stages", tc.numStages},
                          {"min_ctas_per_sm", tc.minCtasPerSm},
                          {"bulk_copy", o.bulkCopy && lookupTarget(o.chip)->computeCapability >= 90},
                          {"tma_copy", o.tmaCopy && lookupTarget(o.chip)->computeCapability >= 90}}},
  };
  if (o.tracePhases) {
    llvm::json::Array points;
    for (const char *name : kTracePointNames)
      points.push_back(name);
    meta["trace"] = llvm::json::Object{{"symbol", "parallax_trace"},
                                       {"slots", kTraceSlots},
                                       {"clock0", kTraceClock0},
                                       {"capacity", kTraceCapacity},
                                       {"points", std::move(points)}};
  }
  std::string json;
  llvm::raw_string_ostream js(json);
  js << llvm::formatv("{0:2}", llvm::json::Value(std::move(meta))) << "\n";
  out.metadataJson = json;
  if (llvm::Error e = writeFile(o.dumpDir, "07-kernel.ptx", out.ptx))
    return std::move(e);
  if (llvm::Error e = writeFile(o.dumpDir, "kernel.json", out.metadataJson))
    return std::move(e);
  return out;
}
