"""Device choice and how to run on it: one rule for every command, the trainer, the metrics and the app.

Precision: "fp32" is the exact path; "bf16" is autocast to bfloat16; "auto" picks bf16 only where the hardware
multiplies bf16 natively (CUDA, or a CPU with AMX-BF16 or AVX512-BF16), since elsewhere it is emulated and far slower
(30x per tile on an AVX2-only AMD EPYC).
"""
from __future__ import annotations

import functools
import platform
from contextlib import nullcontext
from pathlib import Path

import torch

from .errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")
PRECISION_HELP = "auto: bf16 autocast where the hardware has bf16 units, else fp32 (default); fp32: the exact path; bf16"
# CPU flags that decide the fast path, printed beside every benchmark figure.
RELEVANT_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")


def best_device(requested: str | torch.device | None = None) -> torch.device:
    """`requested` ("cpu", "cuda", "cuda:N") when given, else CUDA if a GPU is visible, else the CPU."""
    requested = str(requested) if requested is not None else None
    if requested and requested != "auto":
        dev = torch.device(requested)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe_device(device: torch.device) -> str:
    """The device in words, for provenance and benchmark headers."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo, read once; empty where there is none."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or "unknown CPU"


def cpu_flags() -> list[str]:
    """Which of RELEVANT_CPU_FLAGS this CPU has (from /proc/cpuinfo; empty where it cannot be read)."""
    have = set(_cpuinfo().get("flags", "").split())
    return [f for f in RELEVANT_CPU_FLAGS if f in have]


def bf16_units(device: torch.device) -> str | None:
    """The hardware that multiplies bf16 natively on `device`, in words; None where bf16 would be emulated."""
    if device.type == "cuda":
        return "CUDA" if torch.cuda.is_bf16_supported() else None
    if device.type != "cpu":
        return None
    # torch's own checks ask the CPU (cpuid) and whether this build can use the units.
    if torch.cpu._is_amx_tile_supported():
        return "AMX-BF16"
    if torch.cpu._is_avx512_bf16_supported():
        return "AVX512-BF16"
    return None


def resolve_precision(precision: str, device: torch.device) -> str:
    """"fp32" or "bf16": "auto" is bf16 where `bf16_units` finds the hardware for it."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "bf16" if bf16_units(device) else "fp32"
    return precision


def fast_memory_format(device: torch.device, precision: str) -> torch.memory_format:
    """channels_last where it was measured to help (CUDA, bf16, CPUs with AVX-512); on an AVX2-only CPU in fp32 it
    gained nothing at batch 8 and cost 15 % at batch 1, so the plain layout stays."""
    if device.type == "cuda" or resolve_precision(precision, device) == "bf16" or "avx512f" in cpu_flags():
        return torch.channels_last
    return torch.contiguous_format


def autocast(device: torch.device, precision: str):
    """The context that runs a forward pass in `precision` on `device`."""
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def describe_hardware(device: torch.device) -> str:
    """The device, with what decides its fast path: for benchmark headers and reports."""
    if device.type == "cuda":
        return f"{describe_device(device)} (bf16: {'yes' if bf16_units(device) else 'no'})"
    flags = " ".join(cpu_flags()) or "none of " + " ".join(RELEVANT_CPU_FLAGS)
    return (f"{cpu_model()}, {torch.get_num_threads()} torch threads, flags: {flags}; "
            f"bf16 units: {bf16_units(device) or 'none (bf16 would be emulated)'}; torch CPU kernels: {torch.backends.cpu.get_cpu_capability()}")
