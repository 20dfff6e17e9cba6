"""Keep freed tensor memory in the process on CPU (glibc ``mallopt``).

glibc serves every allocation above its mmap threshold (at most 32 MiB)
with a fresh ``mmap`` and returns it with ``munmap`` when freed, and trims
the top of the heap back to the kernel. A training step allocates and
frees the same multi-megabyte activations and gradients every iteration,
so each of them is page-faulted (and zeroed by the kernel) again on every
step; on a 2-core VM this costs more than a third of the step. Setting
``M_MMAP_MAX = 0`` (no mmap for malloc) and ``M_TRIM_THRESHOLD = -1``
makes glibc recycle the freed blocks instead, as a caching allocator does
on CUDA. The numbers computed are unchanged; the process keeps its peak
heap (RSS does not shrink between steps).

The same effect from the shell, before the process starts:
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<a large byte count>``.
"""
import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_TUNED = False


def tune_cpu_allocator() -> bool:
    """Make glibc keep and reuse freed memory (see the module docstring).

    Call once at start-up of a CPU training/benchmark process
    (``tools/train.py`` does when no CUDA device is used). A no-op on other
    platforms or C libraries.

    Returns:
        bool: True if both settings were applied (now or before).
    """
    global _TUNED
    if _TUNED:
        return True
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # M_TRIM_THRESHOLD = -1 disables trimming (mallopt(3))
    ok = bool(mallopt(_M_MMAP_MAX, 0)) and bool(
        mallopt(_M_TRIM_THRESHOLD, -1))
    _TUNED = ok
    return ok
