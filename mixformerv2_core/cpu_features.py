"""Which x86 instruction sets this CPU has, read at run time, and the kind of CPU they make it for inference.

The kind decides the INT8 recipe (``export.quantize.recipe_for_cpu``): without VNNI, ONNX Runtime's integer
kernels add pairs of uint8 x int8 products into int16 with saturation, so full-range int8 weights overflow;
VNNI instructions add four products straight into int32 and cannot. Flags come from ``/proc/cpuinfo`` on
Linux (the kernel's names, as ``lscpu`` prints them); ``MIXFORMERV2_CPU_FLAGS`` (space or comma separated)
replaces them, so tests and users can pretend to be another CPU.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

FLAGS_ENV = "MIXFORMERV2_CPU_FLAGS"
CPUINFO = Path("/proc/cpuinfo")
# The flags that matter for the network's kernels, in the kernel's spelling.
RELEVANT_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
                  "amx_int8", "amx_tile")


@dataclass(frozen=True)
class CpuKind:
    """What the inference kernels can use. ``name`` is one of ``vnni`` (AVX-512 VNNI or AVX-VNNI), ``avx512``,
    ``avx2``, ``generic``; ``amx`` and ``bf16`` say whether AMX tiles / native bfloat16 are there too.
    """

    name: str
    vnni: bool
    avx512: bool
    avx2: bool
    bf16: bool
    amx: bool
    flags: frozenset

    def describe(self) -> str:
        extras = [flag for flag in RELEVANT_FLAGS if flag in self.flags]
        return f"{self.name} ({' '.join(extras) or 'no SIMD flags found'})"


def parse_flags(text: str) -> frozenset:
    """Flags of the first ``flags`` line of a ``/proc/cpuinfo`` text (every core lists the same)."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def read_flags(cpuinfo: Optional[Path] = None) -> frozenset:
    """The CPU's flags: ``MIXFORMERV2_CPU_FLAGS`` when set, else ``/proc/cpuinfo`` (empty elsewhere)."""
    override = os.environ.get(FLAGS_ENV)
    if override is not None:
        return frozenset(override.replace(",", " ").split())
    try:
        return parse_flags((cpuinfo or CPUINFO).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return frozenset()


def classify(flags: Iterable[str]) -> CpuKind:
    flags = frozenset(flags)
    vnni = bool(flags & {"avx512_vnni", "avx_vnni"})
    avx512 = "avx512f" in flags
    avx2 = "avx2" in flags
    name = "vnni" if vnni else "avx512" if avx512 else "avx2" if avx2 else "generic"
    return CpuKind(name=name, vnni=vnni, avx512=avx512, avx2=avx2,
                   bf16=bool(flags & {"avx512_bf16", "amx_bf16"}), amx=bool(flags & {"amx_int8", "amx_bf16"}),
                   flags=flags)


@lru_cache(maxsize=8)
def _detect(override: Optional[str]) -> CpuKind:
    return classify(read_flags())


def detect_cpu() -> CpuKind:
    """This CPU's kind (cached; a changed ``MIXFORMERV2_CPU_FLAGS`` is seen on the next call)."""
    return _detect(os.environ.get(FLAGS_ENV))


def cpu_model_name() -> str:
    try:
        for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


__all__ = ["CpuKind", "FLAGS_ENV", "classify", "cpu_model_name", "detect_cpu", "parse_flags", "read_flags"]
