"""Streaming readers (Triton; a measuring tool, not a Parallax kernel): the
fastest a kernel reads a decode point's K/V bytes on this GPU, with no
attention math. decode_bench times them beside the decode kernels, in the
same rounds on the same K and V tensors; read_ceiling.py sweeps their
configurations.

Each of P programs sums a contiguous chunk of bf16 into float32, BLOCK
elements a step, software-pipelined over STAGES steps; the sums prove every
element was read.
"""
import torch
import triton
import triton.language as tl

# (programs per SM or None for 128 programs, BLOCK, warps, stages): the best
# three of read_ceiling.py's 48 configurations at 1 GiB, within 0.5% of each
# other (bench/ceiling-h200-2026-12-01.json).
CEILING_CONFIGS = [(32, 8192, 4, 3), (2, 8192, 4, 3), (4, 8192, 4, 3)]


@triton.jit
def _chunk_sum(x_ptr, start, n, chunk, BLOCK: tl.constexpr, STAGES: tl.constexpr):
    # The float32 sum of x[start, start + chunk), BLOCK elements a step.
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    for off in tl.range(0, chunk, BLOCK, num_stages=STAGES):
        idx = start + off + tl.arange(0, BLOCK)
        acc += tl.load(x_ptr + idx, mask=idx < n, other=0.0).to(tl.float32)
    return tl.sum(acc, axis=0)


@triton.jit
def _read_sum(x_ptr, out_ptr, n, chunk, BLOCK: tl.constexpr, STAGES: tl.constexpr):
    pid = tl.program_id(0)
    tl.store(out_ptr + pid, _chunk_sum(x_ptr, pid.to(tl.int64) * chunk, n, chunk, BLOCK, STAGES))


@triton.jit
def _read_pair_sum(k_ptr, v_ptr, out_ptr, n, chunk, half, BLOCK: tl.constexpr,
                   STAGES: tl.constexpr):
    # Programs [0, half) read k, [half, 2 half) read v: one launch for both.
    pid = tl.program_id(0)
    if pid < half:
        total = _chunk_sum(k_ptr, pid.to(tl.int64) * chunk, n, chunk, BLOCK, STAGES)
    else:
        total = _chunk_sum(v_ptr, (pid - half).to(tl.int64) * chunk, n, chunk, BLOCK, STAGES)
    tl.store(out_ptr + pid, total)


def programs_for(per_sm, sms):
    return 128 if per_sm is None else per_sm * sms


def reader(x, programs, block, warps, stages):
    """A callable reading all of x (contiguous) with one launch; returns the
    callable and the tensor of per-program sums it writes."""
    n = x.numel()
    chunk = triton.cdiv(triton.cdiv(n, programs), block) * block
    out = torch.empty(programs, device=x.device, dtype=torch.float32)

    def run():
        _read_sum[(programs,)](x, out, n, chunk, BLOCK=block, STAGES=stages, num_warps=warps)
        return out
    return run, out


def pair_reader(k, v, programs, block, warps, stages):
    """As reader, for two tensors of one size (a K and a V cache), half the
    programs each."""
    assert k.numel() == v.numel() and k.is_contiguous() and v.is_contiguous()
    n, half = k.numel(), max(1, programs // 2)
    chunk = triton.cdiv(triton.cdiv(n, half), block) * block
    out = torch.empty(2 * half, device=k.device, dtype=torch.float32)

    def run():
        _read_pair_sum[(2 * half,)](k, v, out, n, chunk, half, BLOCK=block, STAGES=stages,
                                    num_warps=warps)
        return out
    return run, out


def sums_agree(got, want, n):
    """The readers' float32 sums against torch's: random data sums to about
    sqrt(n); a chunk left unread moves it by far more than the rounding."""
    return abs(got - want) <= 1e-3 * max(1.0, abs(want)) + 1e-6 * n ** 0.5 + 0.5
