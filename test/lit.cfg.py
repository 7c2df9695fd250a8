# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "PARALLAX"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.parallax_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

# Captured FileCheck variables must not leak across CHECK-LABELs.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope --dump-input-context=20"

llvm_config.use_default_substitutions()
# The repository root: tests of the scripts in bench/ read its stored results.
config.substitutions.append(("%repo", os.path.dirname(config.test_source_root)))
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.parallax_tools_dir, config.llvm_tools_dir]
tools = ["parallax-opt", "parallax-cpu-check", "not"]
for optional in ["parallax-translate", "parallax-gen"]:
    if os.path.exists(os.path.join(config.parallax_tools_dir, optional)):
        tools.append(optional)
llvm_config.add_tool_substitutions(tools, tool_dirs)

# ptxas assembles generated PTX; CUDA is optional for the compiler.
ptxas = shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
