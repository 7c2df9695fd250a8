#!/usr/bin/env python3
"""Decode benchmark: our generated Parallax and softmax decode kernels against
torch SDPA (cuDNN, flash), eager PyTorch Parallax and the authors' Triton
decode kernel (parallax-kernel wheel), in one run, on the same inputs.

Runs on the GPU machine (torch, triton, cupy). Our kernels are the PTX and
metadata from parallax-gen, launched through CuPy on torch's stream, so every
method is captured in a CUDA graph and timed by replay (median). Each graph
rotates through enough copies of the inputs that no replay reads its K/V from
the 60 MB L2. Effective bandwidth counts the K/V bytes read (the dominant
traffic): 2 * B * Hkv * L * D * 2 bytes.

  python3 bench/decode_bench.py --kernels .gpu/bench-kernels --out results.json [--quick]
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import time

import numpy as np
import torch
import torch.nn.functional as F

try:  # the read ceiling's Triton kernels (kv_read.py, beside this file)
    import kv_read
    KV_READ_NOTE = "available"
except ImportError as e:
    kv_read, KV_READ_NOTE = None, f"unavailable ({e})"

HKV, D = 8, 128
MULTI_WAVE_PROGRAMS_PER_SM = 4  # = rt::kMultiWaveProgramsPerSM
L2_BYTES = 60 * 2**20


GPU_STATE_FIELDS = ["uuid", "pci.bus_id", "temperature.gpu", "temperature.memory", "power.draw",
                    "enforced.power.limit", "clocks.sm", "clocks.mem",
                    "clocks_event_reasons.active"]


def gpu_state():
    """The GPU's identity, temperatures, power and clocks (nvidia-smi), so that
    calls can be compared: the same kernels read 1-3% faster or slower from one
    call to the next, and cuDNN with them. Fields this driver lacks are left out."""
    fields = list(GPU_STATE_FIELDS)
    while fields:
        try:
            res = subprocess.run(["nvidia-smi", "-i", "0", "--query-gpu=" + ",".join(fields),
                                  "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as e:
            return {"error": str(e)}
        if res.returncode == 0:
            values = [x.strip() for x in res.stdout.strip().split(",")]
            return dict(zip(fields, values))
        fields.pop()  # an older driver: the event reasons field is the newest
    return {"error": "nvidia-smi --query-gpu failed"}


def parallax_reference(q, k, v, r, scale):
    """float64 on the GPU; q/r [B,Hq,1,D], k/v [B,Hkv,L,D]."""
    B, Hq, _, _ = q.shape
    G = Hq // k.shape[1]
    q, k, v = q.double(), k.double(), v.double()
    kk = k.repeat_interleave(G, dim=1)
    vv = v.repeat_interleave(G, dim=1)
    s1 = (q @ kk.transpose(-1, -2)) * scale
    a = torch.softmax(s1, dim=-1)
    out = a @ vv
    if r is None:
        return out
    t = r.double() @ kk.transpose(-1, -2)
    tbar = (a * t).sum(-1, keepdim=True)
    return ((a * (1 + tbar - t)) @ vv)


def eager_parallax(q, k, v, r, scale):
    """Plain PyTorch Parallax (two matmuls each way), bf16, GQA by reshape."""
    B, Hq, _, Dd = q.shape
    Hk, L = k.shape[1], k.shape[2]
    G = Hq // Hk
    qr = torch.cat([q, r], dim=2).view(B, Hk, G * 2, Dd)       # [q;r] rows
    s = qr @ k.transpose(-1, -2)                                # B,Hk,2G,L
    s = s.view(B, Hk, G, 2, L)
    s1, t = s[:, :, :, 0].float() * scale, s[:, :, :, 1].float()
    p = torch.softmax(s1, dim=-1)
    tbar = (p * t).sum(-1, keepdim=True)
    w = (p * (1 + tbar - t)).to(v.dtype)                        # effective weights
    return (w @ v).view(B, Hq, 1, Dd)


def rotation_copies(kv_bytes, cap=32):
    """How many input sets a graph rotates through so that the K/V read per
    replay is at least 3 x L2 (no replay reads its K/V from L2)."""
    return max(1, min(cap, math.ceil(3 * L2_BYTES / kv_bytes)))


def decode_inputs(B, L, Hq, copies, dev):
    """`copies` sets of q, r [B,Hq,1,D] and k, v [B,HKV,L,D] (bf16, random),
    and per-sequence lengths (all L)."""
    def randn(*shape, scale=1.0):
        return [scale * torch.randn(*shape, device=dev, dtype=torch.bfloat16) for _ in range(copies)]
    q, r = randn(B, Hq, 1, D), randn(B, Hq, 1, D, scale=0.5)
    k, v = randn(B, HKV, L, D), randn(B, HKV, L, D)
    return q, r, k, v, torch.full((B,), L, device=dev, dtype=torch.int32)


def decode_dims(B, L):
    """The dynamic dimensions of a contiguous-cache decode kernel."""
    return {"q.dim0": B, "q.dim2": 1, "k_cache.dim0": B, "k_cache.dim2": L,
            "v_cache.dim0": B, "v_cache.dim2": L, "seq_lens.dim0": B,
            "r.dim0": B, "r.dim2": 1}


def decode_kernel_json(kernel_dir, G, softmax=False, wide=False):
    """Path of parallax-gen's decode kernel (D=128, bf16, Hkv=8, Hq=8G); wide:
    its 8-warp-group variant (bench/generate_kernels.sh, "_wide")."""
    kind = "softmax" if softmax else "parallax"
    return os.path.join(kernel_dir, f"{kind}_decode_d{D}_bf16_h{HKV * G}x{HKV}{'_wide' if wide else ''}.json")


def prefer_wide(ctas, keys_per_cta, num_sms):
    """= rt::preferWideDecode: the wide kernel for one wave of at most one CTA
    per SM, each streaming at least 8192 keys (given the narrow launch)."""
    return 0 < ctas <= num_sms and keys_per_cta >= 8192


def pick_decode_kernel(narrow, wide, dims, L, num_sms):
    """The kernel the runtime's rule launches for this shape, and its dims:
    the wide one where prefer_wide says so and it exists."""
    d = narrow.prepare(dims, L, num_sms)
    if wide is not None:
        splits = d.get("num_splits", 1)
        ctas = 1
        for g in narrow.grid(d):
            ctas *= g
        if prefer_wide(ctas, -(-L // splits), num_sms):
            return wide, wide.prepare(dims, L, num_sms)
    return narrow, d


def rel_l2(x, ref):
    """Relative L2 error of x against the float64 reference; inf if x has
    a NaN or Inf (a poisoned element never passes)."""
    x = x.double()
    if not torch.isfinite(x).all():
        return float("inf")
    return ((x - ref).norm() / ref.norm()).item()


def runtime_launch(kern, dims, L, num_sms):
    """The runtime's launch for this shape: (split count, cluster launch)."""
    return kern.prepare(dims, L, num_sms)["num_splits"], kern.cluster > 0


def split_counts(spec, auto):
    """Launches of a comma-separated spec ("auto,16,c8"), in order, once each:
    (splits, cluster). "cN" is N splits launched as clusters of N CTAs that
    merge through distributed shared memory; "auto" the runtime's choice."""
    out = []
    for s in spec.split(","):
        if s == "auto":
            out.append(auto)
        elif s.startswith("c"):
            out.append((int(s[1:]), True))
        else:
            out.append((int(s), False))
    return list(dict.fromkeys(out))


class _LaunchAttr(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int), ("pad", ctypes.c_char * 4), ("value", ctypes.c_uint * 16)]


class _LaunchConfig(ctypes.Structure):
    _fields_ = [("grid", ctypes.c_uint * 3), ("block", ctypes.c_uint * 3),
                ("shared_mem", ctypes.c_uint), ("stream", ctypes.c_void_p),
                ("attrs", ctypes.POINTER(_LaunchAttr)), ("num_attrs", ctypes.c_uint)]


_CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4
_CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6
_libcuda = None
_non_portable = set()


def _cuda():
    global _libcuda
    if _libcuda is None:
        _libcuda = ctypes.CDLL("libcuda.so.1")
        _libcuda.cuLaunchKernelEx.argtypes = [ctypes.POINTER(_LaunchConfig), ctypes.c_void_p,
                                              ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
    return _libcuda


def launch_ex(fn_ptr, grid, block, smem, stream_ptr, args, cluster_x=0, pdl=False):
    """cuLaunchKernelEx with launch attributes CuPy cannot set (= rt::launch):
    clusters of cluster_x CTAs along x, and programmatic stream
    serialization (programmatic dependent launch)."""
    cuda = _cuda()
    attrs = (_LaunchAttr * 2)()
    n = 0
    if cluster_x:
        attrs[n].id = _CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION
        attrs[n].value[0], attrs[n].value[1], attrs[n].value[2] = cluster_x, 1, 1
        n += 1
    if pdl:
        attrs[n].id = _CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
        attrs[n].value[0] = 1
        n += 1
    cfg = _LaunchConfig((ctypes.c_uint * 3)(*grid), (ctypes.c_uint * 3)(*block), smem,
                        stream_ptr, attrs, n)
    if cluster_x > 8 and fn_ptr not in _non_portable:
        # Clusters of more than 8 CTAs (up to 16 on sm_90) are non-portable.
        rc = cuda.cuFuncSetAttribute(ctypes.c_void_p(fn_ptr), 14, 1)
        if rc != 0:
            raise RuntimeError(f"cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED) failed ({rc})")
        _non_portable.add(fn_ptr)
    # Integers are 64-bit parameters; a TensorMap passes its 128 bytes.
    vals = [a if isinstance(a, TensorMap) else ctypes.c_uint64(int(a)) for a in args]
    ptrs = (ctypes.c_void_p * len(vals))(*[
        ctypes.c_void_p(v.address) if isinstance(v, TensorMap) else
        ctypes.cast(ctypes.pointer(v), ctypes.c_void_p) for v in vals])
    rc = cuda.cuLaunchKernelEx(ctypes.byref(cfg), fn_ptr, ptrs, None)
    if rc != 0:
        name = ctypes.c_char_p()
        cuda.cuGetErrorName(rc, ctypes.byref(name))
        raise RuntimeError(f"cuLaunchKernelEx failed: {(name.value or b'?').decode()} ({rc}); "
                           f"cluster {cluster_x}, programmatic {pdl}, grid {grid}")


class TensorMap:
    """A CUtensorMap (128 bytes, 64-byte aligned) for a tma-copy kernel's
    tensor_map parameter, encoded as rt::encodeTensorMap does: the [B, H, L,
    D] source (paged: [pages, H, page, D]) as {D, L, B x H}, 128-byte swizzle."""

    def __init__(self, param, ptr, dims, dtype):
        shape = [dims[f"{param['source']}.dim{i}"] if n < 0 else n
                 for i, n in enumerate(param["shape"])]
        self._buf = (ctypes.c_uint8 * 192)()
        self.address = (ctypes.addressof(self._buf) + 63) // 64 * 64
        eb = 2
        B, H, L, D = shape
        gdim = (ctypes.c_uint64 * 3)(D, L, B * H)
        gstride = (ctypes.c_uint64 * 2)(D * eb, L * D * eb)
        box = (ctypes.c_uint32 * 3)(*param["box"])
        estride = (ctypes.c_uint32 * 3)(1, 1, 1)
        # CUtensorMapDataType: 9 bfloat16, 6 float16; swizzle 128B = 3;
        # L2 promotion 128B = 2 (rt::encodeTensorMap says why); interleave
        # none, OOB fill none = 0.
        cuda = _cuda()
        rc = cuda.cuTensorMapEncodeTiled(
            ctypes.c_void_p(self.address), ctypes.c_int(9 if dtype == "bf16" else 6),
            ctypes.c_uint32(3), ctypes.c_void_p(ptr), gdim, gstride, box, estride,
            ctypes.c_int(0), ctypes.c_int(3), ctypes.c_int(2), ctypes.c_int(0))
        if rc != 0:
            raise RuntimeError(f"cuTensorMapEncodeTiled for {param['name']} of shape {shape}, "
                               f"box {list(param['box'])}: error {rc}")


def max_active_clusters(fn_ptr, grid, block, smem, cluster_x):
    """cuOccupancyMaxActiveClusters: how many clusters of cluster_x CTAs (with
    this block and dynamic shared memory) the GPU holds at once."""
    cuda = _cuda()
    if cluster_x > 8:
        cuda.cuFuncSetAttribute(ctypes.c_void_p(fn_ptr), 14, 1)
    attrs = (_LaunchAttr * 1)()
    attrs[0].id = _CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION
    attrs[0].value[0], attrs[0].value[1], attrs[0].value[2] = cluster_x, 1, 1
    cfg = _LaunchConfig((ctypes.c_uint * 3)(*grid), (ctypes.c_uint * 3)(*block), smem, None, attrs, 1)
    n = ctypes.c_int(0)
    rc = cuda.cuOccupancyMaxActiveClusters(ctypes.byref(n), ctypes.c_void_p(fn_ptr), ctypes.byref(cfg))
    return n.value if rc == 0 else -rc


def decode_runner(kernel, dims, q, k, v, lens, out, r=None, extra=None):
    """fn(i): our kernel on input copy i; `extra` holds further pointer
    parameters (a paged cache's block_table)."""
    def run(i):
        ptrs = {"q": q[i].data_ptr(), "k_cache": k[i].data_ptr(),
                "v_cache": v[i].data_ptr(), "seq_lens": lens.data_ptr(),
                "out": out[i].data_ptr(), **(extra or {})}
        if r is not None:
            ptrs["r"] = r[i].data_ptr()
        kernel(ptrs, dims)
    return run


class OurKernel:
    def __init__(self, json_path, pdl="auto"):
        import cupy
        self.cupy = cupy
        self.cluster = 0
        self.json_path = json_path
        with open(json_path) as f:
            self.meta = json.load(f)
        ptx = json_path[:-5] + ".ptx"
        if pdl is True and not self.meta.get("programmatic_launch"):
            raise ValueError(f"{json_path}: no programmatic_launch (sm_90+ kernels wait for "
                             "the previous grid; this one does not)")
        # Programmatic stream serialization (= rt::launchesProgrammatically):
        # "auto", the runtime's default, whenever the kernel supports it.
        self.pdl = bool(self.meta.get("programmatic_launch")) if pdl == "auto" else bool(pdl)
        self.module = cupy.RawModule(path=ptx)
        self.fn = self.module.get_function(self.meta["entry"])
        props = cupy.cuda.runtime.getDeviceProperties(0)
        self.num_sms = props["multiProcessorCount"]
        self.optin = props["sharedMemPerBlockOptin"]
        smem = self.meta["shared_bytes"]
        self.smem = smem
        self.limited = False  # limit_ctas_per_sm: launch_smem keeps self.smem
        self._set_max_smem()
        # Resident CTAs per SM (registers and shared memory), for reports.
        self.ctas_per_sm = cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
            self.fn.kernel.ptr, self.meta["block"][0], smem)

    def limit_ctas_per_sm(self, n):
        """Launch with more dynamic shared memory than the kernel needs so
        that at most n CTAs share an SM (an occupancy experiment)."""
        per_sm = self.cupy.cuda.runtime.getDeviceProperties(0)["sharedMemPerMultiprocessor"]
        self.smem = max(self.meta["shared_bytes"], per_sm // n - 1024 - 1024)
        self.limited = True
        self._set_max_smem()
        self.ctas_per_sm = self.cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
            self.fn.kernel.ptr, self.meta["block"][0], self.smem)

    def _set_max_smem(self):
        # The limit belongs to the function, which CuPy shares between
        # OurKernels of one PTX file: always the most any launch may ask.
        most = max(self.smem, self.optin)
        if most > 48 * 1024:
            self.fn.max_dynamic_shared_size_bytes = most

    def launch_smem(self, grid):
        """= rt::launchSharedBytes: a programmatic launch of at most one CTA
        per SM (not in clusters of more than 2) asks for the opt-in limit, so
        no SM takes two of its CTAs."""
        if (self.pdl and not self.limited and self.cluster <= 2
                and grid[0] * grid[1] * grid[2] <= self.num_sms and self.optin > self.smem):
            return self.optin
        return self.smem

    def prepare(self, dims, L, num_sms, splits=None):
        """Split-KV kernels: the split count and cluster launch (the
        runtime's choices, rt::chooseNumSplits and rt::clusterSizeFor, unless
        given as (S, cluster)), a workspace and zeroed per-program counters."""
        self.extra = {}
        self.cluster = 0
        cluster = None
        if isinstance(splits, tuple):
            splits, cluster = splits
            if cluster and (not self.meta.get("cluster_merge") or not 2 <= splits <= 16):
                raise ValueError(f"cluster launch of {splits} splits: the kernel "
                                 f"(cluster_merge={self.meta.get('cluster_merge')}) "
                                 "takes clusters of 2 to 16")
        if not self.meta.get("workspace_bytes_per_cta"):
            return dims
        dims = dict(dims, num_splits=1)
        programs = 1
        for g in self.grid(dims):
            programs *= g
        block_n = self.meta["options"]["block_n"]
        key_tiles = -(-L // block_n)
        one_row_dim = self.meta.get("one_row_merge_dim")
        one_row = bool(one_row_dim) and dims.get(one_row_dim) == 1  # = rt::oneRowMerge
        keys = key_tiles * block_n
        several_waves = programs >= MULTI_WAVE_PROGRAMS_PER_SM * num_sms  # = rt::severalWaves
        if splits is None and several_waves:
            # = rt::chooseNumSplits for grids of several waves: long caches in
            # clusters of shorter CTAs where the kernel merges in clusters.
            splits = 1
            if self.meta.get("cluster_merge"):
                if one_row and keys >= 4096:
                    splits = min(8, keys // 1024)
                elif not one_row and keys >= 16384:
                    splits = min(4, keys // 8192)
        if splits is None:  # = rt::chooseNumSplits
            want = max(1, num_sms // programs)
            groups = max(1, self.meta["options"].get("kv_groups", 1))
            by_tiles = max(1, key_tiles // (4 * groups), min(8, key_tiles // groups))
            splits = max(1, min(want, by_tiles, 16))
            if (key_tiles - -(-key_tiles // splits)) * block_n < 384:
                splits = 1
            elif (self.meta.get("cluster_merge") and one_row and splits > 8
                  and -(-key_tiles // 8) * block_n <= 512 and 2 * programs * 8 <= num_sms):
                splits = 8
        dims["num_splits"] = splits
        if cluster is None:  # = rt::clusterSizeFor (kAutoClusterSplits)
            cluster = bool(self.meta.get("cluster_merge")) and (
                splits == 2 or (3 <= splits <= 8 and (
                    several_waves or (one_row and 2 * programs * splits <= num_sms))))
        self.cluster = splits if cluster else 0
        per_cta = self.meta["workspace_bytes_per_cta"]
        self.workspace = torch.empty(programs * splits * per_cta // 4, device="cuda", dtype=torch.float32)
        self.counters = torch.zeros(programs, device="cuda", dtype=torch.int32)
        self.extra = {"workspace": self.workspace.data_ptr(), "counters": self.counters.data_ptr()}
        self.splits = splits
        return dims

    def grid(self, dims):
        out = []
        for f in self.meta["grid"]:
            mult = 1
            if "*" in f:
                f, name = f.split("*")
                mult = dims[name]
            if f.startswith("ceil("):
                a, b = f[5:-1].split("/")
                a = dims[a] if a in dims else int(a)
                out.append(-(-a // int(b)) * mult)
            elif "-" in f[1:]:
                a, b = f.split("-")
                out.append((dims[a] - int(b)) * mult)
            else:
                out.append((dims[f] if f in dims else int(f)) * mult)
        return tuple(out)

    def __call__(self, ptrs, dims):
        args = []
        ptrs = dict(ptrs, **self.extra)
        maps = False
        for p in self.meta["params"]:
            if p["type"] == "ptr":
                args.append(np.uint64(ptrs[p["name"]]))
            elif p["type"] == "tensor_map":
                args.append(TensorMap(p, ptrs[p["source"]], dims, self.meta["options"]["dtype"]))
                maps = True
            else:
                args.append(np.int64(dims[p["name"]]))
        grid = self.grid(dims)
        if self.cluster or self.pdl or maps:
            launch_ex(self.fn.kernel.ptr, grid, self.meta["block"], self.launch_smem(grid),
                      torch.cuda.current_stream().cuda_stream, args, self.cluster, self.pdl)
            return
        stream = self.cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream)
        self.fn(grid, tuple(self.meta["block"]), tuple(args),
                shared_mem=self.smem, stream=stream)


def capture_graph(fn, copies):
    """One CUDA graph calling fn(i) for every input copy i."""
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for i in range(copies):
            fn(i)
    return g


def _graph_of(fn, copies):
    """Warms fn up on every input copy (compiles Triton, loads modules), then
    captures it in one graph; returns the graph and one replay's seconds."""
    torch.cuda.synchronize()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for i in range(copies):
            fn(i)
    torch.cuda.current_stream().wait_stream(s)
    g = capture_graph(fn, copies)
    g.replay()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    g.replay()
    torch.cuda.synchronize()
    return g, time.perf_counter() - t0


def _timed_replays(g, once, copies, reps, settle_s):
    """Untimed replays for settle_s (the GPU settling after whatever ran
    before), then reps timed replays: microseconds per call, one per replay."""
    for _ in range(max(2, int(settle_s / max(once, 1e-6)))):
        g.replay()
    torch.cuda.synchronize()
    times = []
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(reps):
        start.record()
        g.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1000.0 / copies)
    return times


def time_graph(fn, copies):
    """Captures fn(i) for every input copy i in one graph; returns the median
    microseconds per call over replays (one method: one round, settled for
    50 ms)."""
    return time_graphs_interleaved({"": fn}, copies, rounds=1, settle_s=0.05)[""]


def time_graphs_interleaved(fns, copies, rounds=5, min_total_s=0.3, max_reps=50,
                            on_error=None, settle_s=0.02, per_round=None):
    """time_graph for several methods on the same inputs, in rounds: each
    round times every method once (a settle, then a share of its replays),
    starting one method later each round, so that no method is always the
    one timed first after the inputs were made or after a slower neighbour.
    Returns {name: median microseconds over all its replays}; a method whose
    warm-up, capture or replay raises is left out and on_error(name, e)
    called (a fault is charged to its method). per_round, if a dict, gets
    {name: [median microseconds of each round]}: the spread between rounds
    is the resolution of a comparison between methods."""
    graphs = {}
    for name, fn in fns.items():
        try:
            graphs[name] = _graph_of(fn, copies)
        except Exception as e:  # noqa: BLE001
            if on_error is None:
                raise
            on_error(name, e)
    times = {name: [] for name in graphs}
    names = list(graphs)
    for rnd in range(rounds):
        shift = rnd % max(1, len(names))
        for name in names[shift:] + names[:shift]:
            if name not in graphs:  # failed in an earlier round
                continue
            g, once = graphs[name]
            reps = max(3, min(max_reps, int(min_total_s / max(once, 1e-6))) // rounds)
            try:
                got = _timed_replays(g, once, copies, reps, settle_s)
                times[name] += got
                if per_round is not None:
                    per_round.setdefault(name, []).append(statistics.median(got))
            except Exception as e:  # noqa: BLE001
                if on_error is None:
                    raise
                on_error(name, e)
                del graphs[name], times[name]
    del graphs
    if per_round is not None:
        for name in list(per_round):
            if name not in times:
                del per_round[name]
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", required=True)
    ap.add_argument("--out", default="decode_bench.json")
    ap.add_argument("--quick", action="store_true", help="a few grid points only")
    ap.add_argument("--groups", default="1,4,8")
    ap.add_argument("--points", default="", help="BxL,BxL,... instead of the grid (repeats allowed)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="interleaved rounds per point (each the same share of replays): "
                         "more rounds, a finer reading of close ratios")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error(f"--rounds must be at least 1, got {args.rounds}")
    torch.manual_seed(0)
    dev = torch.device("cuda")
    try:
        from parallax.triton.parallax_decode import parallax_decode as authors_decode
        authors_ok = True
    except Exception as e:  # noqa: BLE001
        print(f"authors' Triton decode unavailable: {e}")
        authors_ok = False
    try:
        import parallax
        cute_note = "available" if parallax.cute_decode_available else "unavailable"
    except Exception as e:  # noqa: BLE001
        cute_note = f"unavailable ({e})"
    from torch.nn.attention import SDPBackend, sdpa_kernel

    Bs = [1, 8, 32, 128]
    Ls = [512, 4096, 16384, 32768]
    points = [(b, l) for b in Bs for l in Ls]
    if args.quick:
        points = [(1, 4096), (8, 32768), (32, 16384)]
    if args.points:
        points = [tuple(int(x) for x in p.split("x")) for p in args.points.split(",")]
    results = []
    scale = D ** -0.5
    state_before = gpu_state()
    print("gpu state:", json.dumps(state_before), flush=True)
    for G in [int(g) for g in args.groups.split(",")]:
        Hq = HKV * G
        # Ours: the narrow kernel and, where generated, the wide one (8 warp
        # groups), picked per shape by the runtime's rule (prefer_wide).
        def family(softmax, **kw):
            narrow = OurKernel(decode_kernel_json(args.kernels, G, softmax), **kw)
            wide_path = decode_kernel_json(args.kernels, G, softmax, wide=True)
            return narrow, (OurKernel(wide_path, **kw) if os.path.exists(wide_path) else None)
        fam_p, fam_s = family(False), family(True)
        # Ours launch as the runtime does: programmatically where the kernel
        # supports it (sm_90), each call's CTAs becoming resident while the
        # previous call finishes. The same Parallax kernel launched plainly
        # is the extra column (none for kernels that launch plainly anyway).
        fam_plain = family(False, pdl=False) if fam_p[0].pdl else None
        for B, L in points:
            kv_bytes = 2 * B * HKV * L * D * 2
            copies = rotation_copies(kv_bytes)
            if kv_bytes * copies * 2.2 > 100e9:
                copies = 1
            q, r, k, v, lens = decode_inputs(B, L, Hq, copies, dev)
            out_p = [torch.full_like(x, float("nan")) for x in q]
            out_s = [torch.full_like(x, float("nan")) for x in q]
            dims = decode_dims(B, L)
            sms = torch.cuda.get_device_properties(0).multi_processor_count
            ours_p, dims_p = pick_decode_kernel(*fam_p, dims, L, sms)
            ours_s, dims_s = pick_decode_kernel(*fam_s, dims, L, sms)
            ours_plain = None
            if fam_plain:
                ours_plain, dims_plain = pick_decode_kernel(*fam_plain, dims, L, sms)
            out_plain = [torch.full_like(x, float("nan")) for x in q] if ours_plain else []

            methods = {
                "ours_parallax": decode_runner(ours_p, dims_p, q, k, v, lens, out_p, r),
                "ours_softmax": decode_runner(ours_s, dims_s, q, k, v, lens, out_s),
            }
            if ours_plain:
                methods["ours_parallax_plain"] = decode_runner(ours_plain, dims_plain, q, k, v, lens,
                                                               out_plain, r)

            def sdpa(backend):
                def run(i):
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(q[i], k[i], v[i], enable_gqa=True)
                return run
            methods["sdpa_cudnn"] = sdpa(SDPBackend.CUDNN_ATTENTION)
            methods["sdpa_flash"] = sdpa(SDPBackend.FLASH_ATTENTION)
            methods["eager_parallax"] = lambda i: eager_parallax(q[i], k[i], v[i], r[i], scale)
            # The authors' Triton decode faults (illegal address) once the cache
            # has 2^31 elements or more (B=128, L=32768 here): int32 offsets.
            authors_here = authors_ok and B * HKV * L * D < 2**31
            # The read ceiling: the same K and V read by streaming kernels with
            # no attention math (kv_read.py), the best of a few configurations.
            read_names = []
            if kv_read is not None:
                for ci, cfg in enumerate(kv_read.CEILING_CONFIGS):
                    runs = [kv_read.pair_reader(k[i], v[i], kv_read.programs_for(cfg[0], sms), *cfg[1:])
                            for i in range(copies)]
                    name = f"kv_read_{ci}"
                    methods[name] = (lambda runs: lambda i: runs[i][0]())(runs)
                    read_names.append((name, cfg, runs))
            if authors_here:
                # Their layout: q/r (B,1,Hq,D), k/v (B,L,Hkv,D): same values, converted once.
                qa = [x.transpose(1, 2).contiguous() for x in q]
                ra = [x.transpose(1, 2).contiguous() for x in r]
                ka = [x.transpose(1, 2).contiguous() for x in k]
                va = [x.transpose(1, 2).contiguous() for x in v]
                methods["authors_triton"] = lambda i: authors_decode(qa[i], ra[i], ka[i], va[i], scale)

            row = {"G": G, "B": B, "L": L, "kv_bytes": kv_bytes, "copies": copies,
                   "splits": dims_p.get("num_splits", 1), "cluster": ours_p.cluster > 0,
                   "wide": ours_p is fam_p[1]}
            if authors_ok and not authors_here:
                row["authors_triton_error"] = "skipped: faults at >= 2^31 cache elements"
            def failed(name, e):
                row[name + "_error"] = str(e).splitlines()[0][:200]
                print(f"  {name} failed at G={G} B={B} L={L}: {row[name + '_error']}", flush=True)
                if "illegal" in str(e):
                    raise e
            round_us = {}
            timed = time_graphs_interleaved(methods, copies, rounds=args.rounds,
                                            max_reps=10 * args.rounds, on_error=failed,
                                            per_round=round_us)
            for name in methods:
                if not name.startswith("kv_read_"):
                    row[name] = timed.get(name)
            reads = [(timed[name], cfg, runs) for name, cfg, runs in read_names if timed.get(name)]
            if reads:
                t, cfg, runs = min(reads, key=lambda x: x[0])
                want = k[0].float().sum().item() + v[0].float().sum().item()
                runs[0][1].fill_(float("nan"))
                got = runs[0][0]().sum().item()
                if not kv_read.sums_agree(got, want, 2 * k[0].numel()):
                    raise SystemExit(f"kv_read {cfg} summed {got}, want {want}")
                row["kv_read_us"], row["kv_read_config"] = t, list(cfg)
            row["gpu_state"] = gpu_state()  # just after the timed replays
            # Correctness on the same inputs (copy 0) against float64.
            # float64 on the first (up to) 4 sequences: the whole batch would
            # not fit at B=128, L=32768 in float64.
            nb = min(B, 4)
            ref_p = parallax_reference(q[0][:nb], k[0][:nb], v[0][:nb], r[0][:nb], scale)
            ref_s = parallax_reference(q[0][:nb], k[0][:nb], v[0][:nb], None, scale)

            for o in out_p + out_s + out_plain:  # poison what the graphs wrote
                o.fill_(float("nan"))
            methods["ours_softmax"](0)
            if ours_plain:
                methods["ours_parallax_plain"](0)
            torch.cuda.synchronize()
            row["err_ours_softmax"] = rel_l2(out_s[0][:nb], ref_s)
            if ours_plain:
                row["err_ours_parallax_plain"] = rel_l2(out_plain[0][:nb], ref_p)
            if ours_p.pdl:
                # One graph replay of back-to-back programmatic launches, one
                # per input copy: every copy's output against float64 (the
                # worst is kept).
                g = capture_graph(methods["ours_parallax"], copies)
                g.replay()
                torch.cuda.synchronize()
                row["err_ours_parallax"] = max(
                    rel_l2(out_p[i][:nb], ref_p if i == 0 else parallax_reference(
                        q[i][:nb], k[i][:nb], v[i][:nb], r[i][:nb], scale))
                    for i in range(copies))
                del g
            else:
                methods["ours_parallax"](0)
                torch.cuda.synchronize()
                row["err_ours_parallax"] = rel_l2(out_p[0][:nb], ref_p)
            if authors_here:
                row["err_authors_triton"] = rel_l2(methods["authors_triton"](0).transpose(1, 2)[:nb], ref_p)
            row["err_eager_parallax"] = rel_l2(methods["eager_parallax"](0)[:nb], ref_p)
            peers = [row[m] for m in ("sdpa_cudnn", "sdpa_flash") if row.get(m)]
            best = min(peers) if peers else None
            row["best_softmax_peer_us"] = best
            # Each round's ratio to that round's best peer: how far apart the
            # rounds put ours and the peer, the resolution of `ratio`.
            row["round_us"] = {m: round_us[m] for m in ("ours_parallax", "ours_softmax", "sdpa_cudnn",
                                                        "sdpa_flash") if m in round_us}
            peer_rounds = [round_us[m] for m in ("sdpa_cudnn", "sdpa_flash") if m in round_us]
            if "ours_parallax" in round_us and peer_rounds:
                row["ratio_rounds"] = [o / min(p) for o, *p in zip(round_us["ours_parallax"], *peer_rounds)]
            results.append(row)

            def fmt(m):
                t = row.get(m)
                return f"{t:9.1f}" if t else "      n/a"
            tb = lambda m: (f"{kv_bytes / (row[m] * 1e-6) / 1e12:5.2f}" if row.get(m) else "  n/a")
            of_read = (f"{100 * row['kv_read_us'] / row['ours_parallax']:5.1f}%"
                       if row.get("kv_read_us") and row.get("ours_parallax") else "  n/a")
            print(f"G={G} B={B:3d} L={L:5d} S={row['splits']:2d}{'c' if row['cluster'] else ' '}{'w' if row['wide'] else ' '} | ours P {fmt('ours_parallax')} ({tb('ours_parallax')} TB/s) "
                  f"read {fmt('kv_read_us')} ({tb('kv_read_us')}, ours at {of_read}) "
                  f"P plain {fmt('ours_parallax_plain')} "
                  f"S {fmt('ours_softmax')} | cudnn {fmt('sdpa_cudnn')} ({tb('sdpa_cudnn')}) "
                  f"flash {fmt('sdpa_flash')} | eager {fmt('eager_parallax')} | authors {fmt('authors_triton')} | "
                  f"ratio {row['ours_parallax'] / best if best and row.get('ours_parallax') else float('nan'):6.3f}"
                  f"{' [%.3f-%.3f]' % (min(row['ratio_rounds']), max(row['ratio_rounds'])) if row.get('ratio_rounds') else ''} | "
                  f"err P {row['err_ours_parallax']:.1e} S {row['err_ours_softmax']:.1e} "
                  f"P plain {row.get('err_ours_parallax_plain', float('nan')):.1e}", flush=True)
            with open(args.out, "w") as f:  # after every point: a timeout keeps what ran
                json.dump({"meta": {"partial": True}, "results": results}, f, indent=1)
            del q, r, k, v, out_p, out_s, out_plain, methods, read_names, reads
            torch.cuda.empty_cache()
    meta = {"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0),
            "torch": torch.__version__, "authors_cute_decode": cute_note,
            "authors_triton_decode": "available" if authors_ok else "unavailable",
            "kv_read": KV_READ_NOTE, "rounds": args.rounds,
            "gpu_state_before": state_before, "gpu_state_after": gpu_state()}
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
