"""Whisper decoding as transformers 5.23 does it, restated in plain Python over a next-token-logits function.

scripts/make-whisper-fixtures.py replays every generate call of the fixtures with these functions and stops
if one token differs, so this file is a checked statement of what these transformers code paths do:

    WhisperForConditionalGeneration.generate        models/whisper/generation_whisper.py (prompt, long-form loop,
                                                    _retrieve_segment)
    SuppressTokensLogitsProcessor,                  generation/logits_process.py
    SuppressTokensAtBeginLogitsProcessor,
    WhisperTimeStampLogitsProcessor
    GenerationMixin._sample (greedy), _beam_search  generation/utils.py

A "step" function maps the decoder tokens so far (prompt included) to float32 logits (vocab,) for the
next token, for one fixed 30 s window of input features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Step = Callable[[list[int]], torch.Tensor]
NEG_INF = float("-inf")
TIME_PRECISION = 0.02  # seconds per timestamp token
FRAMES_PER_TOKEN = 2  # mel frames (10 ms) per timestamp step: conv2's stride
WINDOW_FRAMES = 3000  # mel frames in one 30 s window


@dataclass(frozen=True)
class Rules:
    eot: int
    no_timestamps: int  # <|notimestamps|>; <|0.00|> is the next id ("timestamp_begin")
    suppress_tokens: tuple[int, ...]
    begin_suppress_tokens: tuple[int, ...]
    timestamps: bool  # return_timestamps: apply WhisperTimeStampLogitsProcessor
    max_initial_timestamp_index: int | None

    @property
    def timestamp_begin(self) -> int:
        return self.no_timestamps + 1


def process(rules: Rules, tokens: list[int], prompt_length: int, scores: torch.Tensor,
            margins: list[float] | None = None) -> torch.Tensor:  # fmt: skip
    """The logits processors, in transformers' order: begin-suppress, suppress, timestamp rules.

    scores: (vocab,) float32 logits (greedy) or log-probabilities (beam search); returns a new tensor.
    margins, if given, receives |summed timestamp log-probability - best text log-probability|.
    """
    scores = scores.clone()
    generated = tokens[prompt_length:]
    if not generated:  # SuppressTokensAtBegin: only at the first generated position
        scores[list(rules.begin_suppress_tokens)] = NEG_INF
    scores[list(rules.suppress_tokens)] = NEG_INF
    if not rules.timestamps:
        return scores

    begin = rules.timestamp_begin
    scores[rules.no_timestamps] = NEG_INF
    last_was_timestamp = len(generated) >= 1 and generated[-1] >= begin
    penultimate_was_timestamp = len(generated) < 2 or generated[-2] >= begin
    if last_was_timestamp:
        if penultimate_was_timestamp:  # a pair just closed (or the first token was one): text or eot next
            scores[begin:] = NEG_INF
        else:  # a lone timestamp: no text next. Only ids below eot; unsuppressed specials above it stay.
            scores[: rules.eot] = NEG_INF
    # Timestamps never decrease: forbid ids below the last one; after a closed pair also the last one itself.
    seen = [t for t in generated if t >= begin]
    if seen:
        floor = seen[-1] if (last_was_timestamp and not penultimate_was_timestamp) else seen[-1] + 1
        scores[begin:floor] = NEG_INF
    if not generated:  # the first generated token must be a timestamp, at most <|1.00|> (index 50)
        scores[:begin] = NEG_INF
        if rules.max_initial_timestamp_index is not None:
            scores[begin + rules.max_initial_timestamp_index + 1 :] = NEG_INF
    # If the timestamps' summed probability beats the single most likely text token, force a timestamp.
    logprobs = torch.log_softmax(scores.float(), dim=-1)
    timestamp_logprob, text_logprob = torch.logsumexp(logprobs[begin:], dim=-1), logprobs[:begin].max()
    if margins is not None and torch.isfinite(timestamp_logprob) and torch.isfinite(text_logprob):
        margins.append(float(abs(timestamp_logprob - text_logprob)))
    if timestamp_logprob > text_logprob:
        scores[:begin] = NEG_INF
    return scores


def greedy(step: Step, prompt: list[int], rules: Rules, max_new_tokens: int,
           margins: list[float] | None = None) -> list[int]:  # fmt: skip
    """Prompt + argmax continuation (first index on ties), through eot or max_new_tokens tokens.

    margins, if given, receives each step's top-1 minus top-2 processed score and timestamp-rule margin.
    """
    tokens = list(prompt)
    while len(tokens) - len(prompt) < max_new_tokens:
        scores = process(rules, tokens, len(prompt), step(tokens), margins)
        if margins is not None:
            top2 = torch.topk(scores, 2).values
            margins.append(float(top2[0] - top2[1]))
        token = int(torch.argmax(scores))
        tokens.append(token)
        if token == rules.eot:
            break
    return tokens


def beam_search(step: Step, prompt: list[int], rules: Rules, max_new_tokens: int, num_beams: int,
                length_penalty: float = 1.0) -> list[int]:  # fmt: skip
    """GenerationMixin._beam_search with early_stopping=False, one eos id, batch of one.

    - Each running beam's next-token scores are log_softmax(logits) THEN the processors (suppressed tokens
      get -inf; the rest are not renormalised), plus the beam's running sum of log-probabilities.
    - The 2 * num_beams best (beam, token) candidates over all beams are kept (torch.topk order). A
      candidate "finishes" if its token is eot or it reaches prompt + max_new_tokens tokens.
    - Next running beams: the num_beams best candidates that did not finish.
    - A finished candidate is a hypothesis only if it ranks among the first num_beams candidates; its
      score is sum_logprobs / generated_length ** length_penalty (generated_length counts eot). The
      num_beams best hypotheses are kept.
    - Stop when every candidate finished (the length limit), or when all num_beams hypothesis slots
      are filled and best_running_sum / (current generated length) ** length_penalty is not above the
      worst hypothesis (checked after each step, and once true it stays true).
    - Result: the best hypothesis.
    """
    prompt_length, max_length = len(prompt), len(prompt) + max_new_tokens
    running = [(0.0, list(prompt))] + [(-1e9, list(prompt))] * (num_beams - 1)
    hypotheses: list[tuple[float, list[int]]] = []  # (score, tokens), best first, at most num_beams
    improvement_possible = True
    while True:
        scores = []
        for total, tokens in running:
            logprobs = process(rules, tokens, prompt_length, torch.log_softmax(step(tokens).float(), dim=-1))
            scores.append(logprobs + torch.tensor(total, dtype=torch.float32))
        flat = torch.stack(scores).reshape(-1)  # (num_beams * vocab,), beam-major like transformers
        top_scores, top_indices = torch.topk(flat, k=2 * num_beams)
        vocab = scores[0].shape[0]
        candidates = []
        for score, index in zip(top_scores.tolist(), top_indices.tolist()):
            tokens = running[index // vocab][1] + [index % vocab]
            finished = tokens[-1] == rules.eot or len(tokens) >= max_length
            candidates.append((score, tokens, finished))

        if improvement_possible:
            generated_length = len(candidates[0][1]) - prompt_length
            new = [(score / generated_length**length_penalty, tokens)
                   for score, tokens, finished in candidates[:num_beams] if finished]  # fmt: skip
            hypotheses = sorted(hypotheses + new, key=lambda h: -h[0])[:num_beams]
        alive = [(score, tokens) for score, tokens, finished in candidates if not finished]
        running = (alive + [(-1e9, tokens) for _, tokens, _ in candidates])[:num_beams]
        if all(finished for _, _, finished in candidates):
            break
        generated_length = len(running[0][1]) - prompt_length
        best_possible = running[0][0] / generated_length**length_penalty
        full = len(hypotheses) == num_beams
        improvement_possible = improvement_possible and not (full and best_possible <= hypotheses[-1][0])
        if not improvement_possible:
            break
    return hypotheses[0][1]


def prompt_tokens(generation_config, language: int | None, task: str | None, timestamps: bool) -> list[int]:
    """_retrieve_init_tokens, for generation configs without forced_decoder_ids (the fixtures' have none).

    [<|startoftranscript|>] + [language] + [task] + [<|notimestamps|> unless timestamps], where
    language is the one asked for, else the detected one if the config has lang_to_id (its mere presence
    triggers detection, is_multilingual or not), else none; task is the one asked for, else
    <|transcribe|> if a language was asked for, else none (a detected language alone gets no task).
    """
    tokens = [generation_config.decoder_start_token_id]
    if language is not None:
        tokens.append(language)
    if task is not None:
        tokens.append(generation_config.task_to_id[task])
    if not timestamps:
        tokens.append(generation_config.no_timestamps_token_id)
    return tokens


def detect_language(step: Step, start_token: int, language_ids: list[int]) -> int:
    """detect_language: one decoder step from [<|startoftranscript|>], argmax over the language tokens."""
    logits = step([start_token])
    return max(language_ids, key=lambda i: (float(logits[i]), -i))


def segments_of(generated: list[int], begin: int, seek: int, seek_frames: int) -> tuple[list[dict], int]:
    """_retrieve_segment: split one window's generated tokens (eot removed) at timestamp pairs.

    Returns the segments (start and end in seconds, tokens) and how many mel frames to advance.
    """
    offset = seek * TIME_PRECISION / FRAMES_PER_TOKEN  # seconds
    is_timestamp = [t >= begin for t in generated]
    single_ending = is_timestamp[-2:] == [False, True]
    pair_ends = [i + 1 for i in range(len(generated) - 1) if is_timestamp[i] and is_timestamp[i + 1]]
    if not pair_ends:
        # One segment for the whole window; it ends at the last timestamp if there is one (and it is not
        # <|0.00|>), else at the end of the window.
        stamps = [t for t in generated if t >= begin]
        end_index = int(seek_frames * 0.01 / TIME_PRECISION)
        if stamps and stamps[-1] != begin:
            end_index = stamps[-1] - begin
        return [dict(start=offset, end=offset + end_index * TIME_PRECISION, tokens=generated)], seek_frames

    slices = list(pair_ends)
    if single_ending:
        slices.append(len(generated))
    else:
        slices[-1] += 1  # keep the closing pair's second timestamp in the last segment
    segments, last = [], 0
    for n, current in enumerate(slices):
        tokens = generated[last:current]
        is_last = n == len(slices) - 1
        end_token = tokens[-1] if (not is_last or single_ending) else tokens[-2]
        segments.append(dict(start=offset + (tokens[0] - begin) * TIME_PRECISION,
                             end=offset + (end_token - begin) * TIME_PRECISION, tokens=tokens))  # fmt: skip
        last = current
    if single_ending:  # nothing said after the last timestamp: the whole window is done
        return segments, seek_frames
    # Otherwise the text after the last pair is dropped and decoding resumes at the pair's first timestamp.
    return segments, (generated[last - 2] - begin) * FRAMES_PER_TOKEN


def long_form(window_step: Callable[[int], Step], total_frames: int, prompt: list[int], rules: Rules,
              max_new_tokens: int, margins: list[float] | None = None) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """The sequential long-form loop with temperature 0, no fallback, no conditioning on previous text.

    window_step(seek) returns the step function for input_features[:, seek : seek + 3000], zero-padded
    (with 0.0, not the log-mel of silence) to 3000 frames. Returns (windows, segments).
    """
    seek, windows, segments = 0, [], []
    while seek < total_frames:
        seek_frames = min(total_frames - seek, WINDOW_FRAMES)
        tokens = greedy(window_step(seek), prompt, rules, max_new_tokens, margins)
        generated = tokens[len(prompt) :]
        if generated and generated[-1] == rules.eot:
            generated = generated[:-1]
        found, advance = segments_of(generated, rules.timestamp_begin, seek, seek_frames)
        windows.append(dict(seek=seek, tokens=tokens))
        segments += found
        if advance <= 0:
            raise ValueError(f"long-form: the window at frame {seek} does not advance (transformers loops forever)")
        seek += advance
    return windows, segments
