//===- CpuRunner.cpp - run attention kernels on the host ------------------===//
#include "parallax/CPURunner/CpuRunner.h"
#include "parallax/Reference/Float16.h"
#include "parallax/Dialect/Parallax/IR/ParallaxDialect.h"
#include "parallax/Dialect/Parallax/Transforms/Passes.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <cstring>
#include <limits>
#include <malloc.h>
#include <sstream>

using namespace parallax;
using namespace parallax::cpu;
using parallax::ref::fromBf16;
using parallax::ref::toBf16;

namespace {

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

std::string tensorType(std::initializer_list<int64_t> dims, const char *elt) {
  std::ostringstream os;
  os << "tensor<";
  for (int64_t d : dims)
    os << d << "x";
  os << elt << ">";
  return os.str();
}

/// A host buffer in the kernel's element type, viewed as a memref descriptor.
template <int N> struct Buffer {
  std::vector<char> bytes;
  StridedMemRefType<char, N> desc;
  Buffer(const std::vector<double> &values, ElementType t,
         std::array<int64_t, N> sizes) {
    size_t esize = t == ElementType::F32 ? 4 : 2;
    bytes.resize(values.size() * esize);
    for (size_t i = 0; i < values.size(); ++i) {
      if (t == ElementType::F32) {
        float f = static_cast<float>(values[i]);
        std::memcpy(&bytes[i * 4], &f, 4);
      } else {
        uint16_t h = toBf16(values[i]);
        std::memcpy(&bytes[i * 2], &h, 2);
      }
    }
    desc.basePtr = desc.data = bytes.data();
    desc.offset = 0;
    int64_t stride = 1;
    for (int i = N - 1; i >= 0; --i) {
      desc.sizes[i] = sizes[i];
      desc.strides[i] = stride;
      stride *= sizes[i];
    }
  }
};

/// Values of `x` rounded through the kernel's element type, so that the
/// reference sees exactly what the kernel reads.
void roundTo(std::vector<double> &x, ElementType t) {
  for (double &v : x)
    v = t == ElementType::F32 ? static_cast<double>(static_cast<float>(v))
                              : fromBf16(toBf16(v));
}

} // namespace

double parallax::cpu::tolerance(ElementType t) {
  return t == ElementType::F32 ? 1e-5 : 1e-2;
}

static int64_t sum(const std::vector<int32_t> &x) {
  int64_t t = 0;
  for (int32_t v : x)
    t += v;
  return t;
}
static int64_t maxOf(const std::vector<int32_t> &x) {
  int64_t m = 1;
  for (int32_t v : x)
    m = std::max<int64_t>(m, v);
  return m;
}

std::string parallax::cpu::buildAttentionModule(const KernelSpec &s) {
  const ref::Shape &sh = s.shape;
  const char *elt = s.elementType == ElementType::F32 ? "f32" : "bf16";
  bool varlen = !s.varlenQ.empty();
  std::string qt = tensorType({sh.B, sh.Hq, sh.Lq, sh.D}, elt);
  std::string kt = tensorType({sh.B, sh.Hkv, sh.Lk, sh.D}, elt);
  std::string lt = tensorType({sh.B}, "i32");
  bool paged = s.decode && s.pageSize > 0;
  int64_t maxPages = paged ? sh.Lk / s.pageSize : 0;
  std::string bt = tensorType({sh.B, maxPages}, "i32");
  if (paged) // [num_pages, Hkv, page, D]; one spare page keeps ids scattered
    kt = tensorType({sh.B * maxPages + 1, sh.Hkv, s.pageSize, sh.D}, elt);
  std::ostringstream attrs;
  std::vector<std::string> parts;
  if (s.options.causal)
    parts.push_back("causal");
  if (s.options.window > 0)
    parts.push_back("window = " + std::to_string(s.options.window) + " : i64");
  if (s.options.scale > 0) {
    std::ostringstream sc;
    sc.precision(9);
    sc << std::scientific << s.options.scale;
    parts.push_back("scale = " + sc.str() + " : f32");
  }
  if (!parts.empty()) {
    attrs << " {";
    for (size_t i = 0; i < parts.size(); ++i)
      attrs << (i ? ", " : "") << parts[i];
    attrs << "}";
  }
  std::ostringstream os;
  if (varlen) {
    int64_t b = s.varlenQ.size();
    qt = tensorType({sum(s.varlenQ), sh.Hq, sh.D}, elt);
    kt = tensorType({sum(s.varlenK), sh.Hkv, sh.D}, elt);
    std::string ct = tensorType({b + 1}, "i32");
    std::string mx = "max_seqlen_q = " + std::to_string(maxOf(s.varlenQ)) +
                     " : i64, max_seqlen_k = " + std::to_string(maxOf(s.varlenK)) +
                     " : i64";
    std::string a = attrs.str();
    a = a.empty() ? " {" + mx + "}" : a.substr(0, a.size() - 1) + ", " + mx + "}";
    os << "func.func @kernel(%q: " << qt << ", %k: " << kt << ", %v: " << kt
       << ", %cuq: " << ct << ", %cuk: " << ct << (s.probe ? ", %r: " + qt : "")
       << ") -> " << qt << " attributes {llvm.emit_c_interface} {\n"
       << "  %o = parallax.varlen_attention %q, %k, %v, %cuq, %cuk"
       << (s.probe ? " probe %r" : "") << a << " : " << qt << ", " << kt << ", "
       << kt << ", " << ct << ", " << ct << (s.probe ? ", " + qt : "") << " -> "
       << qt << "\n  return %o : " << qt << "\n}\n";
    return os.str();
  }
  os << "func.func @kernel(%q: " << qt << ", %k: " << kt << ", %v: " << kt;
  if (s.decode)
    os << ", %lens: " << lt;
  if (paged)
    os << ", %bt: " << bt;
  if (s.probe)
    os << ", %r: " << qt;
  os << ") -> " << qt << " attributes {llvm.emit_c_interface} {\n";
  os << "  %o = parallax." << (s.decode ? "decode_attention" : "attention")
     << " %q, %k, %v" << (s.decode ? ", %lens" : "")
     << (paged ? " block_table %bt" : "")
     << (s.probe ? " probe %r" : "") << attrs.str() << " : " << qt << ", "
     << kt << ", " << kt << (s.decode ? ", " + lt : "")
     << (paged ? " block_table " + bt : "")
     << (s.probe ? ", " + qt : "") << " -> " << qt << "\n";
  os << "  return %o : " << qt << "\n}\n";
  return os.str();
}

llvm::Expected<CheckResult> parallax::cpu::check(const KernelSpec &spec,
                                                 uint64_t seed,
                                                 std::vector<int32_t> seqLens) {
  // 0 picks 1/sqrt(D); anything else is the op's f32 scale attribute.
  double scale = spec.options.scale;
  if (scale != 0 && !mlir::parallax::isValidScale(scale))
    return llvm::createStringError("scale must be positive and a finite f32 (0 = 1/sqrt(D)), got " +
                                   (std::ostringstream() << scale).str());
  bool varlen = !spec.varlenQ.empty();
  ref::Shape sh = spec.shape;
  if (varlen) {
    if (spec.varlenQ.size() != spec.varlenK.size())
      return llvm::createStringError("varlen needs as many key lengths as query "
                                     "lengths: %zu and %zu",
                                     spec.varlenQ.size(), spec.varlenK.size());
    // Packed [T, H, D] is the dense [1, T, H, D] shape for counting.
    sh.B = 1;
    sh.Lq = std::max<int64_t>(1, sum(spec.varlenQ));
    sh.Lk = std::max<int64_t>(1, sum(spec.varlenK));
  }
  try {
    ref::validate(sh, spec.options);
  } catch (const std::exception &e) {
    return llvm::createStringError(e.what());
  }
  if (spec.decode && seqLens.empty())
    seqLens.assign(sh.B, static_cast<int32_t>(sh.Lk));
  if (spec.decode && static_cast<int64_t>(seqLens.size()) != sh.B)
    return llvm::createStringError("decode needs one sequence length per batch "
                                   "entry: B is %lld, got %zu",
                                   (long long)sh.B, seqLens.size());

  static bool nativeTargetReady = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)nativeTargetReady;

  mlir::DialectRegistry registry;
  registry.insert<mlir::parallax::ParallaxDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  auto t0 = std::chrono::steady_clock::now();
  std::string text = buildAttentionModule(spec);
  std::string diagnostics;
  llvm::raw_string_ostream diagOs(diagnostics);
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    diagOs << d << "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!module)
    return llvm::createStringError("parse failed: " + diagnostics + "\n" +
                                   text);
  mlir::PassManager pm(&ctx);
  mlir::parallax::CpuPipelineOptions opts;
  opts.blockM = spec.blockM;
  opts.blockN = spec.blockN;
  opts.fuse = spec.fuse;
  opts.packGqa = spec.packGqa;
  mlir::parallax::buildCpuPipeline(pm, opts);
  if (mlir::failed(pm.run(*module)))
    return llvm::createStringError("CPU pipeline failed: " + diagnostics);

  mlir::ExecutionEngineOptions eo;
  eo.transformer = mlir::makeOptimizingTransformer(2, 0, nullptr);
  llvm::SmallVector<llvm::StringRef, 1> libs = {PARALLAX_C_RUNNER_UTILS};
  eo.sharedLibPaths = libs;
  auto engine = mlir::ExecutionEngine::create(*module, eo);
  if (!engine)
    return engine.takeError();
  auto fn = (*engine)->lookup("_mlir_ciface_kernel");
  if (!fn)
    return fn.takeError();
  CheckResult result;
  result.compileSeconds = seconds(t0);

  // Inputs, random and never zero-only; decode caches are NaN past each
  // sequence's end so that a read there poisons the output.
  size_t nq = ref::numQ(sh), nkv = ref::numKV(sh);
  std::vector<double> q(nq), k(nkv), v(nkv), r(nq, 0.0);
  ref::fillRandom(q.data(), nq, seed * 4 + 1);
  ref::fillRandom(k.data(), nkv, seed * 4 + 2);
  ref::fillRandom(v.data(), nkv, seed * 4 + 3);
  if (spec.probe)
    ref::fillRandom(r.data(), nq, seed * 4 + 4, -0.5, 0.5);
  for (auto *x : {&q, &k, &v, &r})
    roundTo(*x, spec.elementType);
  std::vector<double> kIn = k, vIn = v;
  if (spec.decode)
    for (int64_t b = 0; b < sh.B; ++b)
      for (int64_t h = 0; h < sh.Hkv; ++h)
        for (int64_t j = seqLens[b]; j < sh.Lk; ++j)
          for (int64_t d = 0; d < sh.D; ++d) {
            size_t idx = ((b * sh.Hkv + h) * sh.Lk + j) * sh.D + d;
            kIn[idx] = vIn[idx] = std::numeric_limits<double>::quiet_NaN();
          }

  std::vector<double> expected(nq);
  std::vector<int32_t> cuQ = {0}, cuK = {0};
  for (size_t i = 0; i < spec.varlenQ.size(); ++i) {
    cuQ.push_back(cuQ.back() + spec.varlenQ[i]);
    cuK.push_back(cuK.back() + spec.varlenK[i]);
  }
  try {
    if (varlen)
      ref::forwardVarlen(spec.varlenQ.size(), sh.Hq, sh.Hkv, sh.D, spec.options,
                         cuQ.data(), cuK.data(), q.data(), k.data(), v.data(),
                         spec.probe ? r.data() : nullptr, expected.data());
    else if (spec.decode)
      ref::forwardDecode(sh, spec.options, q.data(), k.data(), v.data(),
                         seqLens.data(), spec.probe ? r.data() : nullptr,
                         expected.data());
    else
      ref::forward(sh, spec.options, q.data(), k.data(), v.data(),
                   spec.probe ? r.data() : nullptr, expected.data());
  } catch (const std::exception &e) {
    return llvm::createStringError(e.what());
  }

  // Paged decode: scatter the logical cache into shuffled pages.
  bool paged = spec.decode && spec.pageSize > 0;
  std::vector<int32_t> blockTable;
  int64_t numPages = 0;
  if (paged) {
    if (sh.Lk % spec.pageSize)
      return llvm::createStringError(
          "the cache length Lmax (%lld) must be a multiple of the page size (%lld)",
          (long long)sh.Lk, (long long)spec.pageSize);
    int64_t maxPages = sh.Lk / spec.pageSize;
    numPages = sh.B * maxPages + 1;
    std::vector<int32_t> ids(numPages);
    for (int64_t i = 0; i < numPages; ++i)
      ids[i] = static_cast<int32_t>(i);
    std::mt19937_64 rng(seed);
    std::shuffle(ids.begin(), ids.end(), rng);
    blockTable.assign(ids.begin(), ids.begin() + sh.B * maxPages);
    std::vector<double> kp(numPages * sh.Hkv * spec.pageSize * sh.D,
                           std::numeric_limits<double>::quiet_NaN());
    std::vector<double> vp = kp;
    for (int64_t b = 0; b < sh.B; ++b)
      for (int64_t h = 0; h < sh.Hkv; ++h)
        for (int64_t j = 0; j < sh.Lk; ++j) {
          int64_t page = blockTable[b * maxPages + j / spec.pageSize];
          for (int64_t d = 0; d < sh.D; ++d) {
            size_t from = ((b * sh.Hkv + h) * sh.Lk + j) * sh.D + d;
            size_t to = ((page * sh.Hkv + h) * spec.pageSize + j % spec.pageSize) * sh.D + d;
            kp[to] = kIn[from];
            vp[to] = vIn[from];
          }
        }
    kIn = std::move(kp);
    vIn = std::move(vp);
  }
  ElementType t = spec.elementType;
  // Packed [T, H, D] has the bytes of [1, T, H, D]; the descriptor's sizes
  // are read as the kernel's static shape, so give the packed ones.
  std::array<int64_t, 4> qDims{sh.B, sh.Hq, sh.Lq, sh.D};
  std::array<int64_t, 4> kDims{sh.B, sh.Hkv, sh.Lk, sh.D};
  if (paged)
    kDims = {numPages, sh.Hkv, spec.pageSize, sh.D};
  if (varlen) {
    qDims = {1, sh.Lq, sh.Hq, sh.D};
    kDims = {1, sh.Lk, sh.Hkv, sh.D};
  }
  Buffer<4> qb(q, t, qDims), kb(kIn, t, kDims), vb(vIn, t, kDims),
      rb(r, t, qDims);
  StridedMemRefType<int32_t, 1> lens{seqLens.data(), seqLens.data(), 0,
                                     {static_cast<int64_t>(seqLens.size())},
                                     {1}};
  StridedMemRefType<char, 4> out{};
  StridedMemRefType<int32_t, 1> cuQDesc{cuQ.data(), cuQ.data(), 0,
                                        {static_cast<int64_t>(cuQ.size())}, {1}};
  StridedMemRefType<int32_t, 1> cuKDesc{cuK.data(), cuK.data(), 0,
                                        {static_cast<int64_t>(cuK.size())}, {1}};

  // Poison: every block malloc hands out (the kernel's output among them) is
  // filled with 0x7f bytes, ~3.4e38 as f32 or bf16.
  mallopt(M_PERTURB, 0x80);
  auto t1 = std::chrono::steady_clock::now();
  // A rank-3 memref descriptor is a prefix of the rank-4 one we built:
  // (base, data, offset, sizes[3], strides[3]) -- pass views that match.
  auto view3 = [](Buffer<4> &buf) {
    StridedMemRefType<char, 3> d;
    d.basePtr = buf.desc.basePtr;
    d.data = buf.desc.data;
    d.offset = 0;
    for (int i = 0; i < 3; ++i) {
      d.sizes[i] = buf.desc.sizes[i + 1];
      d.strides[i] = buf.desc.strides[i + 1];
    }
    return d;
  };
  StridedMemRefType<char, 3> q3 = view3(qb), k3 = view3(kb), v3 = view3(vb),
                             r3 = view3(rb);
  std::vector<void *> args = {&out, &qb.desc, &kb.desc, &vb.desc};
  if (varlen)
    args = {&out, &q3, &k3, &v3, &cuQDesc, &cuKDesc};
  if (spec.decode)
    args.push_back(&lens);
  StridedMemRefType<int32_t, 2> btDesc{};
  if (paged) {
    btDesc.basePtr = btDesc.data = blockTable.data();
    btDesc.offset = 0;
    btDesc.sizes[0] = sh.B;
    btDesc.sizes[1] = sh.Lk / spec.pageSize;
    btDesc.strides[0] = btDesc.sizes[1];
    btDesc.strides[1] = 1;
    args.push_back(&btDesc);
  }
  if (spec.probe)
    args.push_back(varlen ? static_cast<void *>(&r3) : &rb.desc);
  void *f = *fn;
  switch (args.size()) {
  case 4:
    reinterpret_cast<void (*)(void *, void *, void *, void *)>(f)(
        args[0], args[1], args[2], args[3]);
    break;
  case 5:
    reinterpret_cast<void (*)(void *, void *, void *, void *, void *)>(f)(
        args[0], args[1], args[2], args[3], args[4]);
    break;
  case 6:
    reinterpret_cast<void (*)(void *, void *, void *, void *, void *, void *)>(
        f)(args[0], args[1], args[2], args[3], args[4], args[5]);
    break;
  default:
    reinterpret_cast<void (*)(void *, void *, void *, void *, void *, void *,
                              void *)>(f)(args[0], args[1], args[2], args[3],
                                          args[4], args[5], args[6]);
  }
  result.runSeconds = seconds(t1);
  mallopt(M_PERTURB, 0);

  std::vector<double> got(nq);
  for (size_t i = 0; i < nq; ++i) {
    const char *p = out.data + (out.offset + i) * (t == ElementType::F32 ? 4 : 2);
    if (t == ElementType::F32) {
      float f32;
      std::memcpy(&f32, p, 4);
      got[i] = f32;
    } else {
      uint16_t h;
      std::memcpy(&h, p, 2);
      got[i] = fromBf16(h);
    }
  }
  free(out.basePtr);
  result.elements = nq;
  result.relL2 = ref::relL2(got.data(), expected.data(), nq);
  return result;
}
