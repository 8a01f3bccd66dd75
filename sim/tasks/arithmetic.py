"""``kind = "arithmetic"``: a generated arithmetic question with one right value.

The multi-agent debate experiments of Du et al. (2023, "Improving Factuality and Reasoning
in Language Models through Multiagent Debate", arXiv:2305.14325) asked agents for the
value of expressions such as ``12 + 7 * 3 - 5`` with random operands: the answer is known
exactly, so accuracy before and after debate can be measured. This task draws
``operands`` numbers from 1 to ``max_operand`` and operators from ``operators``, evaluated
with the usual precedence (multiplication first). The world's K options become K values:
the right one at the truth's position and K - 1 distinct wrong ones at the others, taken
from common mistakes (evaluating left to right, one sign slip, one factor off by one in a
product, the result off by 1, 2 or 10) in an order drawn from the stream, then from small
random offsets if those run out. Labels are the values themselves (``"391"``). Agents get
no private evidence.

Main entry points: :class:`ArithmeticTask`, :class:`ArithmeticInstance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from sim.tasks.base import TaskBase, TaskInstance

Operator = Literal["+", "-", "*"]


@dataclass(frozen=True)
class ArithmeticInstance(TaskInstance):
    """An arithmetic question; ``expression`` is the expression as asked (Python syntax)."""

    expression: str = ""


class ArithmeticTask(TaskBase):
    """``kind = "arithmetic"``: the value of a random expression (Du et al. 2023)."""

    kind: Literal["arithmetic"] = Field(
        "arithmetic", description="A generated arithmetic question (Du et al. 2023)."
    )
    operands: int = Field(4, ge=2, le=12, description="Number of operands in the expression.")
    max_operand: int = Field(
        30, ge=2, description="Operands are drawn uniformly from 1 to this value."
    )
    operators: tuple[Operator, ...] = Field(
        ("+", "-", "*"), description='Operators drawn uniformly between operands ("+", "-", "*").'
    )

    @field_validator("operators")
    @classmethod
    def _some_operators(cls, value: tuple[Operator, ...]) -> tuple[Operator, ...]:
        if not value:
            raise ValueError("give at least one operator")
        return tuple(dict.fromkeys(value))

    def instance(
        self,
        *,
        options: int,
        n: int,
        truth: int,
        rng: np.random.Generator,
        base_dir: Path | None,
    ) -> ArithmeticInstance:
        numbers = [int(x) for x in rng.integers(1, self.max_operand + 1, size=self.operands)]
        operators = [
            self.operators[int(i)]
            for i in rng.integers(len(self.operators), size=self.operands - 1)
        ]
        value = evaluate(numbers, operators)
        wrong = _distractors(numbers, operators, options - 1, rng)
        order = iter(rng.permutation(wrong).tolist())
        values = [value if k == truth else int(next(order)) for k in range(options)]
        expression = _format(numbers, operators)
        labels = tuple(str(v) for v in values)
        return ArithmeticInstance(
            kind=self.kind,
            question=(
                f"What is the value of {expression}? Multiplication (*) is done before "
                "addition and subtraction."
            ),
            labels=labels,
            descriptions=labels,
            truth=truth,
            expression=expression,
        )


def evaluate(numbers: list[int], operators: list[Operator]) -> int:
    """Value of ``numbers[0] operators[0] numbers[1] ...`` with multiplication first.

    Args:
        numbers: The operands, in order.
        operators: The ``len(numbers) - 1`` operators between them.

    Returns:
        The exact integer value.
    """
    total, sign, product = 0, 1, numbers[0]
    for operator, number in zip(operators, numbers[1:], strict=True):
        if operator == "*":
            product *= number
        else:
            total += sign * product
            sign, product = (1 if operator == "+" else -1), number
    return total + sign * product


def evaluate_left_to_right(numbers: list[int], operators: list[Operator]) -> int:
    """Value of the expression read strictly left to right, ignoring precedence (a common
    mistake)."""
    value = numbers[0]
    for operator, number in zip(operators, numbers[1:], strict=True):
        if operator == "+":
            value += number
        elif operator == "-":
            value -= number
        else:
            value *= number
    return value


def _distractors(
    numbers: list[int], operators: list[Operator], count: int, rng: np.random.Generator
) -> list[int]:
    """``count`` distinct wrong values: common mistakes first, then random near misses."""
    value = evaluate(numbers, operators)
    slips = []
    for i, operator in enumerate(operators):
        if operator == "*":
            # One factor of a product misread by one.
            for delta in (-1, 1):
                changed = [*numbers[: i + 1], numbers[i + 1] + delta, *numbers[i + 2 :]]
                slips.append(evaluate(changed, operators))
        else:
            flipped: Operator = "-" if operator == "+" else "+"
            slips.append(evaluate(numbers, [*operators[:i], flipped, *operators[i + 1 :]]))
    slips += [value + d for d in (-10, -2, -1, 1, 2, 10)]
    mistakes = [evaluate_left_to_right(numbers, operators)]
    mistakes += [slips[int(i)] for i in rng.permutation(len(slips))]
    chosen = list(dict.fromkeys(v for v in mistakes if v != value))[:count]
    spread = count + 10
    while len(chosen) < count:
        offset = int(rng.integers(1, spread + 1)) * (1 if rng.random() < 0.5 else -1)
        if value + offset not in chosen:
            chosen.append(value + offset)
    return chosen


def _format(numbers: list[int], operators: list[Operator]) -> str:
    parts = [str(numbers[0])]
    for operator, number in zip(operators, numbers[1:], strict=True):
        parts += [operator, str(number)]
    return " ".join(parts)
