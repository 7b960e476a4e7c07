"""Prompt token counts with the cl100k_base tokenizer litellm ships: offline, without importing litellm.

litellm bundles tiktoken's cache files in `litellm/litellm_core_utils/tokenizers/` (named by the SHA-1 of
the download URL). Pointing `TIKTOKEN_CACHE_DIR` there while the encoding loads makes tiktoken read the
file instead of downloading it; the file is checked first so that a missing or altered one is a clear
error here, never a network call.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from importlib import util
from pathlib import Path
from typing import Any

from routelab.datasets.errors import DatasetError
from routelab.datasets.importers.progress import progress_bar

ENCODING = "cl100k_base"
# tiktoken's cache key (SHA-1 of the URL) and its pinned content hash for cl100k_base.
_CACHE_FILE = hashlib.sha1(
    b"https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken", usedforsecurity=False
).hexdigest()
_CONTENT_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_BATCH = 2000


class TokenizerError(DatasetError):
    """The bundled tokenizer file is missing or altered."""


def tokenizer_dir() -> Path:
    """The folder of tokenizer files inside the installed litellm package."""
    spec = util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError("litellm is not installed, so its bundled tokenizer is missing; `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"


@functools.cache
def encoding() -> Any:
    """The cl100k_base encoding, loaded from litellm's bundled file (never from the network).

    Raises:
        TokenizerError: the bundled file is missing or its content is not the pinned one.
    """
    folder = tokenizer_dir()
    file = folder / _CACHE_FILE
    if not file.is_file():
        raise TokenizerError(
            f"{file}: litellm's bundled {ENCODING} tokenizer file is missing; reinstall litellm"
        )
    if hashlib.sha256(file.read_bytes()).hexdigest() != _CONTENT_SHA256:
        raise TokenizerError(f"{file}: the bundled {ENCODING} tokenizer file is altered; reinstall litellm")
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    try:
        import tiktoken

        return tiktoken.get_encoding(ENCODING)
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def count_tokens(texts: Sequence[str], progress: bool = False) -> list[int]:
    """Token counts of `texts` under cl100k_base (special-token text counts as ordinary text)."""
    enc = encoding()
    out: list[int] = []
    bar = progress_bar(len(texts), progress, "counting tokens")
    for start in range(0, len(texts), _BATCH):
        # One thread: tiktoken's batch API hands each text to a thread pool, slower for prompt-sized texts.
        batch = texts[start : start + _BATCH]
        out.extend(len(enc.encode_ordinary(text)) for text in batch)
        bar.update(len(batch))
    bar.close()
    return out
