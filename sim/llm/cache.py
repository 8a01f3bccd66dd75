"""Content-addressed response cache on disk, safe to share between processes.

Layout: one JSON file per request key, ``PATH/v1/ab/abcdef....json`` (sharded by the key's
first two hex digits so no folder grows past a few thousand entries). A write goes to a
unique temporary file in the same folder and is renamed into place with ``os.replace``, so a
reader sees either no entry or a whole one, and concurrent writers of the same key (sweep
workers) cannot interleave: the last rename wins and both wrote the same kind of entry.

Why files and not sqlite: no lock is ever held, so writers in parallel worker processes
never wait for each other or hit ``database is locked``; it works on filesystems where
sqlite's WAL does not (network mounts); entries are plain JSON that can be read, deleted,
copied or merged (``rsync``) with ordinary tools, or shipped next to a scenario for exact
replay. The price is one small file per call, which is fine for workloads that pay per
call.

An entry stores the request (without credentials: they are never part of it), the reply
text and the token counts, or the failure. Failures are only used in replay mode, so a
replay reproduces a recorded run exactly, while recording sends a failed request again.

Main entry points: :class:`ResponseCache`, :class:`CacheEntry`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.llm.config import CacheConfig
from sim.llm.requests import ChatRequest
from sim.results import write_atomic

FORMAT = "v1"


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One cached reply (or recorded failure).

    Attributes:
        text: Reply text ("" for a failure).
        prompt_tokens: Prompt tokens of the call.
        completion_tokens: Completion tokens of the call.
        tokens_estimated: The counts are estimates (the server sent no usage).
        error: The failure, or None for a reply.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool = False
    error: str | None = None


class ResponseCache:
    """The on-disk response cache of one configuration.

    Args:
        config: Mode and folder.
    """

    def __init__(self, config: CacheConfig) -> None:
        self.mode = config.mode
        self.root = Path(config.path)

    def path_for(self, key: str) -> Path:
        """File that holds (or would hold) the entry of ``key``."""
        return self.root / FORMAT / key[:2] / f"{key}.json"

    def get(self, key: str) -> CacheEntry | None:
        """The entry of ``key``, or None (also when the cache is off or the file is damaged,
        e.g. truncated by a disk-full copy: it is then treated as missing and rewritten)."""
        if self.mode == "off":
            return None
        try:
            raw = self.path_for(key).read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            return CacheEntry(
                text=str(data["text"]),
                prompt_tokens=int(data["prompt_tokens"]),
                completion_tokens=int(data["completion_tokens"]),
                tokens_estimated=bool(data.get("tokens_estimated", False)),
                error=data.get("error"),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def put(self, request: ChatRequest, entry: CacheEntry) -> None:
        """Store ``entry`` as the reply to ``request`` (atomically; nothing when off).

        A recorded failure never replaces a recorded reply.
        """
        if self.mode == "off":
            return
        key = request.key()
        path = self.path_for(key)
        if entry.error is not None:
            existing = self.get(key)
            if existing is not None and existing.error is None:
                return
        record: dict[str, Any] = {
            "key": key,
            "request": {
                "model": request.model,
                "messages": [list(message) for message in request.messages],
                "temperature": request.temperature,
                "max_tokens": request.max_tokens,
                "top_p": request.top_p,
                "seed": request.seed,
                "sample_index": request.sample_index,
                "options": None if request.options is None else list(request.options),
                "constrain": request.constrain,
            },
            "text": entry.text,
            "prompt_tokens": entry.prompt_tokens,
            "completion_tokens": entry.completion_tokens,
            "tokens_estimated": entry.tokens_estimated,
            "error": entry.error,
        }
        data = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        write_atomic(path, lambda tmp: tmp.write_bytes(data))

    def __len__(self) -> int:
        """Number of entries on disk."""
        folder = self.root / FORMAT
        return sum(1 for _ in folder.glob("*/*.json")) if folder.is_dir() else 0
