//===- PTXEmitter.cpp - LLVM dialect -> PTX text --------------------------===//
#include "parallax/Target/PTXEmitter.h"
#include "parallax/Conversion/TargetInfo.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

using namespace mlir;
using namespace mlir::parallax;

static const char *kTriple = "nvptx64-nvidia-cuda";

void mlir::parallax::registerPTXTranslations(DialectRegistry &registry) {
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const PTXOptions &options) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
  const TargetInfo *target = lookupTarget(options.chip);
  if (!target)
    return llvm::createStringError("unsupported chip '" + options.chip +
                                   "': supported are " + supportedChipsList());
  llvm::Triple triple(kTriple);
  std::string error;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!t)
    return llvm::createStringError("NVPTX target unavailable: " + error);
  std::string features = "+ptx" + std::to_string(target->ptxVersion);
  llvm::TargetOptions to;
  auto level = options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
               : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
               : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                       : llvm::CodeGenOptLevel::None;
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      triple, target->chip, features, to, std::nullopt, std::nullopt, level));
  if (!tm)
    return llvm::createStringError("cannot create an NVPTX target machine for " +
                                   options.chip);
  return tm;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::parallax::translateToNVPTXModule(ModuleOp module, llvm::LLVMContext &ctx,
                                       const PTXOptions &options) {
  auto tm = createTargetMachine(options);
  if (!tm)
    return tm.takeError();
  // A kernel lowered for sm_90 uses its instructions (griddepcontrol,
  // clusters, bulk copies), which NVPTX cannot select for an older chip; it
  // would abort in instruction selection. (Kernels for sm_80 to sm_89 use
  // the same instructions.)
  const TargetInfo *target = lookupTarget(options.chip);
  for (LLVM::LLVMFuncOp f : module.getOps<LLVM::LLVMFuncOp>())
    if (auto chip = f->getAttrOfType<StringAttr>("parallax.chip")) {
      const TargetInfo *needs = lookupTarget(chip.getValue());
      if (needs && needs->computeCapability >= 90 && target->computeCapability < 90)
        return llvm::createStringError(
            "kernel '" + f.getSymName().str() + "' was lowered for " + chip.getValue().str() +
            " (its parallax.chip) and cannot be compiled for " + options.chip +
            ": lower it for " + options.chip + ", or emit for " + chip.getValue().str());
    }
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, ctx, "parallax");
  if (!llvmModule)
    return llvm::createStringError(
        "translation to LLVM IR failed (is every op in the LLVM or NVVM "
        "dialect? run the GPU lowering first)");
  llvmModule->setTargetTriple(llvm::Triple(kTriple));
  llvmModule->setDataLayout((*tm)->createDataLayout());
  return llvmModule;
}

llvm::Expected<std::string> mlir::parallax::emitPTX(llvm::Module &module,
                                                    const PTXOptions &options) {
  auto tm = createTargetMachine(options);
  if (!tm)
    return tm.takeError();
  module.setTargetTriple(llvm::Triple(kTriple));
  module.setDataLayout((*tm)->createDataLayout());
  {
    // LICM before codegen: our lowering emits each copy's per-lane address
    // terms inside the key loop, and the NVPTX pipeline has no IR-level LICM
    // (LSR folded some of them, recomputing the swizzle every iteration).
    // Hoisted, the G=1 decode kernel's loop is 220 PTX instructions, not 264.
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm->get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm;
    if (llvm::Error e = pb.parsePassPipeline(mpm, "function(loop-mssa(licm))"))
      return std::move(e);
    mpm.run(module, mam);
  }
  std::string ptx;
  {
    llvm::raw_string_ostream os(ptx);
    llvm::buffer_ostream bos(os);
    llvm::legacy::PassManager pm;
    // LSR is switched by a command-line option only (TargetPassConfig's
    // -disable-lsr); set it on every call so one process can emit both.
    static std::mutex lsrMutex;
    std::lock_guard<std::mutex> lock(lsrMutex);
    auto &registered = llvm::cl::getRegisteredOptions();
    if (auto it = registered.find("disable-lsr"); it != registered.end())
      static_cast<llvm::cl::opt<bool> *>(it->second)->setValue(!options.loopStrengthReduction);
    if ((*tm)->addPassesToEmitFile(pm, bos, nullptr,
                                   llvm::CodeGenFileType::AssemblyFile))
      return llvm::createStringError("NVPTX cannot emit assembly");
    pm.run(module);
  }
  return ptx;
}

llvm::Expected<std::string> mlir::parallax::emitPTX(ModuleOp module,
                                                    const PTXOptions &options) {
  llvm::LLVMContext ctx;
  auto llvmModule = translateToNVPTXModule(module, ctx, options);
  if (!llvmModule)
    return llvmModule.takeError();
  return emitPTX(**llvmModule, options);
}
