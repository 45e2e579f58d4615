"""faster-whisper with word timestamps, each window starting at the last timestamp of the one before.

With `word_timestamps=True`, faster-whisper 1.2.1 starts the next 30 s window where the last word ended
(generate_segments: `last_word_end = get_end(current_segments)` under `if not single_timestamp_ending:`),
as openai-whisper does; without word timestamps, at the last timestamp.  transcribe times words but
seeks by timestamps (docs/design.md says why).  Inside `seeking_by_timestamps()` that one call returns
None, so faster-whisper runs transcribe's algorithm: the tokens of its run without word timestamps,
with its own word times.  Every other call of get_end (last_speech_timestamp) is left alone.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Seeks:
    """How many times the seek to the last word's end was turned into none."""

    replaced: int = 0


@contextlib.contextmanager
def seeking_by_timestamps() -> Iterator[Seeks]:
    """faster-whisper, within this block, starts each window at the last timestamp of the one before.
    The block gets a Seeks whose count a caller can check: a window that ends on a lone timestamp
    makes no such seek, but a long recording without one means the patch missed (faster-whisper
    changed)."""
    import faster_whisper.transcribe as module

    lines, first = inspect.getsourcelines(module.WhisperModel.generate_segments)
    calls = [first + index + 1 for index, line in enumerate(lines[:-1])
             if line.strip() == "if not single_timestamp_ending:"
             and lines[index + 1].strip() == "last_word_end = get_end(current_segments)"]  # fmt: skip
    if len(calls) != 1:
        raise RuntimeError(f"faster-whisper's generate_segments has {len(calls)} seeks to the last word's end, not 1")
    original = module.get_end
    seeks = Seeks()

    def get_end(segments: list[dict]) -> float | None:
        caller = inspect.currentframe().f_back
        if caller.f_code is module.WhisperModel.generate_segments.__code__ and caller.f_lineno == calls[0]:
            seeks.replaced += 1
            return None
        return original(segments)

    module.get_end = get_end
    try:
        yield seeks
    finally:
        module.get_end = original
