"""``kind = "questions"``: multiple-choice questions read from a file.

A question set is a table with one question per row: the question text, its options and
the text of the correct option, as in multiple-choice benchmarks (MMLU, TruthfulQA's MC
format, ARC). It is read with polars from ``.jsonl``/``.ndjson`` (one JSON object per
line), ``.csv`` (options in one cell, split on ``separator``) or ``.parquet`` (options as
a list of strings). Every row must have exactly ``world.options`` distinct options and an
answer among them; :meth:`QuestionSetTask.check` reports the file, row and problem.

For each run one row is used (``pick``: drawn from the stream, or fixed): the correct
option goes to the world's truth and the other options fill the other positions in an
order drawn from the stream, labelled A, B, C, ... Agents get no private evidence.

Rows are numbered from 0 in file order (after a CSV header), as ``pick`` counts them;
messages about a JSONL file also give the line. Files are read once per path and
modification time, so a sweep does not re-read them for every run.

Main entry points: :class:`QuestionSetTask`, :class:`QuestionInstance`,
:func:`read_questions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from sim.errors import ScenarioError
from sim.tasks.base import TaskBase, TaskInstance, option_letters

SUFFIXES = (".jsonl", ".ndjson", ".csv", ".parquet")
"""File types a question set may have."""

_MAX_REPORTED = 5  # bad rows named in one error message


@dataclass(frozen=True)
class Question:
    """One row of a question set.

    Attributes:
        question: The question text.
        options: The options' texts, in file order.
        answer: Index of the correct option in ``options``.
        row: Row number in the file (from 0).
    """

    question: str
    options: tuple[str, ...]
    answer: int
    row: int


@dataclass(frozen=True)
class QuestionInstance(TaskInstance):
    """A question from a set; ``row`` is its row number in the file (from 0)."""

    row: int = 0


class QuestionSetTask(TaskBase):
    """``kind = "questions"``: a multiple-choice question from a file."""

    kind: Literal["questions"] = Field(
        "questions", description="Multiple-choice questions read from a file."
    )
    path: str = Field(
        description="Question file (.jsonl, .ndjson, .csv or .parquet), relative to the "
        "scenario file's folder."
    )
    pick: int | Literal["random"] = Field(
        "random",
        description='Row used (from 0, in file order), or "random": drawn for each run.',
    )
    question_column: str = Field("question", description="Column holding the question text.")
    options_column: str = Field(
        "options",
        description="Column holding the options: a list of strings, or one string split on "
        "``separator`` (always so in CSV).",
    )
    answer_column: str = Field(
        "answer", description="Column holding the text of the correct option."
    )
    separator: str = Field(
        "|", min_length=1, description="Separator of the options when they are one string."
    )

    @field_validator("pick")
    @classmethod
    def _row_index(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"must be a row number >= 0 or 'random', got {value}")
        return value

    def questions(self, options: int, base_dir: Path | None) -> tuple[Question, ...]:
        """The question set, checked for ``options`` options per row.

        Args:
            options: Number of options K every row must have.
            base_dir: Folder that a relative ``path`` resolves against.

        Returns:
            Every row, in file order.

        Raises:
            ScenarioError: The file is missing, unreadable or of an unsupported type,
                lacks a column, is empty, or has rows that are not valid K-option
                questions.
        """
        path = _resolve(self.path, base_dir)
        where = f"task.path = {self.path!r}"
        if path.suffix.lower() not in SUFFIXES:
            raise ScenarioError(
                f"{where}: unsupported file type {path.suffix or '(none)'!r}; "
                f"expected one of {', '.join(SUFFIXES)}"
            )
        if not path.is_file():
            raise ScenarioError(f"{where}: file not found: {path}")
        stat = path.stat()
        return _load(
            path,
            stat.st_mtime_ns,
            stat.st_size,
            (self.question_column, self.options_column, self.answer_column),
            self.separator,
            options,
        )

    def check(self, options: int, base_dir: Path | None) -> None:
        self._check_pick(self.questions(options, base_dir))

    def _check_pick(self, rows: tuple[Question, ...]) -> None:
        if isinstance(self.pick, int) and self.pick >= len(rows):
            raise ScenarioError(
                f"task.pick = {self.pick}: {self.path!r} has {len(rows)} rows "
                f"(0 to {len(rows) - 1})"
            )

    def instance(
        self,
        *,
        options: int,
        n: int,
        truth: int,
        rng: np.random.Generator,
        base_dir: Path | None,
    ) -> QuestionInstance:
        rows = self.questions(options, base_dir)
        self._check_pick(rows)
        row = rows[int(rng.integers(len(rows))) if self.pick == "random" else self.pick]
        wrong = [text for k, text in enumerate(row.options) if k != row.answer]
        order = iter(wrong[int(i)] for i in rng.permutation(len(wrong)))
        texts = tuple(
            row.options[row.answer] if k == truth else next(order) for k in range(options)
        )
        return QuestionInstance(
            kind=self.kind,
            question=row.question,
            labels=option_letters(options),
            descriptions=texts,
            truth=truth,
            row=row.row,
        )


def read_questions(
    path: Path,
    options: int,
    *,
    columns: tuple[str, str, str] = ("question", "options", "answer"),
    separator: str = "|",
) -> tuple[Question, ...]:
    """Read and check a question set (uncached).

    Args:
        path: The file (.jsonl, .ndjson, .csv or .parquet).
        options: Number of options every row must have.
        columns: Names of the question, options and answer columns.
        separator: Separator of options given as one string.

    Returns:
        Every row, in file order.

    Raises:
        ScenarioError: As :meth:`QuestionSetTask.questions`.
    """
    where = f"task.path: {path}"
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            table = pl.read_csv(path, infer_schema=False)
        elif suffix == ".parquet":
            table = pl.read_parquet(path)
        else:
            table = pl.read_ndjson(path, infer_schema_length=None)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ScenarioError(f"{where}: cannot read the file: {exc}") from exc
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ScenarioError(
            f"{where}: no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(map(repr, table.columns))})"
        )
    if table.height == 0:
        raise ScenarioError(f"{where}: no questions")
    questions: list[Question] = []
    problems: list[tuple[int, str]] = []
    for row, (question, raw_options, answer) in enumerate(table.select(columns).iter_rows()):
        try:
            questions.append(
                _question(row, question, raw_options, answer, columns, separator, options)
            )
        except ValueError as exc:
            problems.append((row, str(exc)))
    if problems:
        lines = _jsonl_lines(path) if suffix in (".jsonl", ".ndjson") else None
        named = [
            f"row {row}{'' if lines is None else f' (line {lines[row]})'}: {problem}"
            for row, problem in problems[:_MAX_REPORTED]
        ]
        more = len(problems) - len(named)
        raise ScenarioError(
            f"{where}: {len(problems)} bad row{'s' if len(problems) > 1 else ''} of "
            f"{table.height}: {'; '.join(named)}{f'; and {more} more' if more else ''}"
        )
    return tuple(questions)


@lru_cache(maxsize=16)
def _load(
    path: Path,
    mtime_ns: int,
    size: int,
    columns: tuple[str, str, str],
    separator: str,
    options: int,
) -> tuple[Question, ...]:
    # mtime_ns and size are in the key so that an edited file is read again.
    return read_questions(path, options, columns=columns, separator=separator)


def _question(
    row: int,
    question: Any,
    raw_options: Any,
    answer: Any,
    columns: tuple[str, str, str],
    separator: str,
    options: int,
) -> Question:
    """One row as a :class:`Question`; ``ValueError`` saying what is wrong otherwise."""
    question_column, options_column, answer_column = columns
    text = _text(question, repr(question_column))
    if raw_options is None:
        raise ValueError(f"{options_column!r} is missing")
    if isinstance(raw_options, str):
        raw_options = raw_options.split(separator)
    if not isinstance(raw_options, list | tuple):
        raise ValueError(f"{options_column!r} must be a list of strings, got {raw_options!r}")
    texts = tuple(_text(option, f"an option in {options_column!r}") for option in raw_options)
    if len(texts) != options:
        raise ValueError(f"has {len(texts)} options, world.options is {options}")
    repeated = sorted({t for t in texts if texts.count(t) > 1})
    if repeated:
        raise ValueError(f"repeated option {', '.join(map(repr, repeated))}")
    correct = _text(answer, repr(answer_column))
    if correct not in texts:
        raise ValueError(f"answer {correct!r} is not one of the options {list(texts)}")
    return Question(text, texts, texts.index(correct), row)


def _text(value: Any, what: str) -> str:
    """A non-empty, stripped string from a cell (integers are read as their digits)."""
    if value is None:
        raise ValueError(f"{what} is missing")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {value!r}")
    value = value.strip()
    if not value:
        raise ValueError(f"{what} is empty")
    return value


def _jsonl_lines(path: Path) -> list[int]:
    """Line number (from 1) of each row of a JSONL file; polars skips blank lines."""
    with path.open(encoding="utf-8", errors="replace") as file:
        return [number for number, line in enumerate(file, start=1) if line.strip()]


def _resolve(path: str, base_dir: Path | None) -> Path:
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = (base_dir if base_dir is not None else Path.cwd()) / candidate
    return candidate.resolve()
