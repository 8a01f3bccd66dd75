"""Tasks: the words LLM agents are asked, consistent with the world's truth."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.errors import ScenarioError
from sim.tasks import (
    TASK_KINDS,
    HiddenProfileTask,
    ProfileItem,
    QuestionSetTask,
    TaskBase,
    TaskConfig,
    TaskInstance,
    favoured_option,
    option_letters,
)
from sim.tasks import questions as questions_module
from sim.tasks.arithmetic import evaluate, evaluate_left_to_right
from sim.tasks.base import percent

ROOT = Path(__file__).resolve().parent.parent
ADAPTER: TypeAdapter[Any] = TypeAdapter(TaskConfig)

QUESTIONS = [
    {"question": "What is 2 + 2?", "options": ["3", "4", "5", "22"], "answer": "4"},
    {
        "question": "Capital of France?",
        "options": ["Lyon", "Nice", "Paris", "Lille"],
        "answer": "Paris",
    },
    {"question": "H2O is?", "options": ["water", "salt", "sand", "air"], "answer": "water"},
]


def task(**table: Any) -> TaskBase:
    return ADAPTER.validate_python(table)


def pose(config: TaskBase, options: int, truth: int, seed: int, n: int = 6, **kw: Any) -> Any:
    return config.instance(
        options=options,
        n=n,
        truth=truth,
        rng=np.random.default_rng(seed),
        base_dir=kw.get("base_dir"),
    )


def write_questions(folder: Path, rows: list[dict[str, Any]], name: str = "q.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def question_file(tmp_path: Path) -> Path:
    return write_questions(tmp_path, QUESTIONS)


def every_kind(folder: Path, options: int = 4) -> list[TaskBase]:
    rows = [
        {
            **row,
            "options": [row["answer"], *[o for o in row["options"] if o != row["answer"]]][
                :options
            ],
        }
        for row in QUESTIONS
    ]
    write_questions(folder, rows)
    return [
        task(kind="urn"),
        task(kind="arithmetic"),
        task(kind="questions", path="q.jsonl"),
        task(kind="hidden_profile"),
    ]


# ----------------------------------------------------------------------------- all kinds


def test_every_kind_is_registered_and_parsed_by_its_kind() -> None:
    assert set(TASK_KINDS) == {"urn", "arithmetic", "questions", "hidden_profile"}
    for kind, cls in TASK_KINDS.items():
        table = {"kind": kind} if kind != "questions" else {"kind": kind, "path": "q.jsonl"}
        assert type(task(**table)) is cls


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="colors"):
        task(kind="urn", colors=["red", "blue"])


@pytest.mark.parametrize("options", [2, 3, 4])
def test_instances_have_one_distinct_label_per_option_and_keep_the_truth(
    tmp_path: Path, options: int
) -> None:
    for config in every_kind(tmp_path, options):
        for truth in range(options):
            instance = pose(config, options, truth, seed=truth, base_dir=tmp_path)
            assert isinstance(instance, TaskInstance)
            assert instance.kind == config.kind
            assert instance.truth == truth
            assert len(instance.labels) == len(set(instance.labels)) == options
            assert len(instance.descriptions) == options
            assert instance.answer == instance.labels[truth]
            assert instance.question.strip()


def test_same_stream_state_gives_the_same_instance(tmp_path: Path) -> None:
    for config in every_kind(tmp_path):
        first = pose(config, 4, 2, seed=11, base_dir=tmp_path)
        again = pose(config, 4, 2, seed=11, base_dir=tmp_path)
        assert first == again
        assert [first.evidence(i, 1, 0.7) for i in range(6)] == [
            again.evidence(i, 1, 0.7) for i in range(6)
        ]
    arithmetic = task(kind="arithmetic")
    assert len({pose(arithmetic, 4, 0, seed=s).question for s in range(20)}) > 15


def test_option_letters() -> None:
    assert option_letters(3) == ("A", "B", "C")
    letters = option_letters(28)
    assert letters[25:] == ("Z", "AA", "AB")
    assert len(set(option_letters(800))) == 800


@pytest.mark.parametrize(
    ("probability", "text"),
    [(0.7, "70 %"), (0.15, "15 %"), (1 / 3, "33.3 %"), (1.0, "100 %"), (0.9999, "99.99 %")],
)
def test_percent(probability: float, text: str) -> None:
    assert percent(probability) == text


# ----------------------------------------------------------------------------- urn


def test_urn_evidence_names_the_colour_drawn_and_the_accuracy() -> None:
    instance = pose(task(kind="urn", colours=["red", "blue", "green"]), 3, truth=0, seed=0)
    assert instance.labels == ("A", "B", "C")
    assert instance.descriptions == ("mostly red balls", "mostly blue balls", "mostly green balls")
    assert "Urn A holds mostly red balls" in instance.question
    evidence = instance.evidence(0, 2, 0.8)
    assert "it is green" in evidence
    assert "80 %" in evidence
    assert "other 2 colours, 10 % each" in evidence
    assert "red" not in evidence and "blue" not in evidence


def test_urn_evidence_with_two_urns() -> None:
    evidence = pose(task(kind="urn"), 2, truth=1, seed=0).evidence(3, 0, 0.65)
    assert "it is red" in evidence
    assert "65 %" in evidence
    assert "the other colour (35 %)" in evidence


def test_urn_needs_a_colour_per_option() -> None:
    config = task(kind="urn", colours=["red", "blue", "green"])
    config.check(3, None)
    with pytest.raises(ScenarioError, match=r"task.colours has 3 colours, world.options is 4"):
        config.check(4, None)
    with pytest.raises(ScenarioError, match=r"task\.colours"):
        pose(config, 4, 0, seed=0)
    with pytest.raises(ValidationError, match="distinct"):
        task(kind="urn", colours=["red", "red"])


# ----------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize("options", [2, 4, 7])
def test_arithmetic_truth_label_is_the_value_of_the_expression(options: int) -> None:
    config = task(kind="arithmetic", operands=5, max_operand=20)
    for seed in range(150):
        truth = seed % options
        instance = pose(config, options, truth, seed)
        assert instance.expression in instance.question
        assert int(instance.labels[truth]) == eval(instance.expression)  # test-only check
        assert all(
            int(label) != int(instance.labels[truth])
            for k, label in enumerate(instance.labels)
            if k != truth
        )
        numbers = [int(x) for x in instance.expression.split()[::2]]
        assert len(numbers) == 5 and all(1 <= x <= 20 for x in numbers)


def test_arithmetic_offers_the_left_to_right_mistake() -> None:
    config = task(kind="arithmetic", operators=["+", "*"])
    offered = 0
    for seed in range(50):
        instance = pose(config, 4, 0, seed)
        tokens = instance.expression.split()
        numbers, operators = [int(x) for x in tokens[::2]], tokens[1::2]
        assert set(operators) <= {"+", "*"}
        mistake = evaluate_left_to_right(numbers, operators)
        if mistake != evaluate(numbers, operators):
            assert str(mistake) in instance.labels
            offered += 1
    assert offered > 15


def test_evaluate_follows_precedence() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        numbers = [int(x) for x in rng.integers(0, 40, size=int(rng.integers(2, 8)))]
        operators = [str(o) for o in rng.choice(["+", "-", "*"], size=len(numbers) - 1)]
        text = " ".join(
            t for pair in zip(map(str, numbers), [*operators, ""], strict=True) for t in pair
        )
        assert evaluate(numbers, operators) == eval(text)  # type: ignore[arg-type]
    assert evaluate_left_to_right([2, 3, 4], ["+", "*"]) == 20


def test_arithmetic_fills_many_options_with_distinct_values() -> None:
    instance = pose(task(kind="arithmetic", operands=2, operators=["+"]), 30, truth=7, seed=3)
    assert len(set(instance.labels)) == 30
    assert int(instance.labels[7]) == eval(instance.expression)


# ----------------------------------------------------------------------------- questions


def test_the_correct_option_goes_to_the_truth_and_the_others_are_shuffled(
    question_file: Path,
) -> None:
    config = task(kind="questions", path=str(question_file), pick=1)
    orders = set()
    for seed in range(40):
        instance = pose(config, 4, truth=seed % 4, seed=seed)
        assert instance.question == "Capital of France?"
        assert instance.labels == ("A", "B", "C", "D")
        assert instance.descriptions[instance.truth] == "Paris"
        assert sorted(instance.descriptions) == ["Lille", "Lyon", "Nice", "Paris"]
        assert instance.row == 1
        assert instance.evidence(0, 0, 0.7) == ""
        orders.add(instance.descriptions)
    assert len(orders) > 12  # 4 positions x 6 orders of the wrong options


def test_random_pick_draws_every_row(question_file: Path) -> None:
    config = task(kind="questions", path=str(question_file))
    rows = {pose(config, 4, 0, seed).row for seed in range(40)}
    assert rows == {0, 1, 2}


def test_jsonl_csv_and_parquet_give_the_same_instance(tmp_path: Path) -> None:
    write_questions(tmp_path, QUESTIONS, "q.jsonl")
    frame = pl.DataFrame(QUESTIONS)
    frame.write_parquet(tmp_path / "q.parquet")
    frame.with_columns(pl.col("options").list.join(";")).write_csv(tmp_path / "q.csv")
    instances = [
        pose(task(kind="questions", path=name, **extra), 4, 3, seed=9, base_dir=tmp_path)
        for name, extra in [("q.jsonl", {}), ("q.parquet", {}), ("q.csv", {"separator": ";"})]
    ]
    assert instances[0] == instances[1] == instances[2]


def test_column_names_are_configurable(tmp_path: Path) -> None:
    rows = [{"stem": r["question"], "choices": r["options"], "key": r["answer"]} for r in QUESTIONS]
    write_questions(tmp_path, rows)
    config = task(
        kind="questions",
        path="q.jsonl",
        question_column="stem",
        options_column="choices",
        answer_column="key",
        pick=2,
    )
    instance = pose(config, 4, 0, seed=0, base_dir=tmp_path)
    assert (instance.question, instance.descriptions[0]) == ("H2O is?", "water")


def test_the_example_question_set_is_valid_with_four_options() -> None:
    config = QuestionSetTask(path="scenarios/data/questions.jsonl")
    config.check(4, ROOT)
    rows = config.questions(4, ROOT)
    assert len(rows) == 20
    assert len({row.question for row in rows}) == 20
    with pytest.raises(ScenarioError, match=r"has 4 options, world\.options is 2"):
        config.check(2, ROOT)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"question": "Q?", "options": ["a", "b", "c"], "answer": "a"},
            "has 3 options, world.options is 4",
        ),
        (
            {"question": "Q?", "options": ["a", "b", "c", "d"], "answer": "e"},
            "answer 'e' is not one of",
        ),
        ({"question": "Q?", "options": ["a", "b", "b", "d"], "answer": "a"}, "repeated option 'b'"),
        ({"question": " ", "options": ["a", "b", "c", "d"], "answer": "a"}, "'question' is empty"),
        (
            {"question": "Q?", "options": ["a", "b", "c", "d"], "answer": None},
            "'answer' is missing",
        ),
    ],
)
def test_a_bad_jsonl_row_is_named_by_row_and_line(
    tmp_path: Path, row: dict[str, Any], message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps(QUESTIONS[0])
    # A blank line: polars skips it, so row 1 is on line 3.
    path.write_text(f"{good}\n\n{json.dumps(row)}\n{good}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as error:
        QuestionSetTask(path="bad.jsonl").check(4, tmp_path)
    text = str(error.value)
    assert "bad.jsonl" in text
    assert "1 bad row of 3: row 1 (line 3)" in text
    assert message in text


def test_a_bad_csv_row_is_named_by_row(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text(
        "question,options,answer\nQ1,a|b|c|d,a\nQ2,a|b|c|d,a\nQ3,a|b,a\nQ4,a|b|c|d,z\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as error:
        QuestionSetTask(path="q.csv").check(4, tmp_path)
    text = str(error.value)
    assert "2 bad rows of 4" in text
    assert "row 2: has 2 options, world.options is 4" in text
    assert "row 3: answer 'z' is not one of the options" in text


def test_many_bad_rows_are_summarised(tmp_path: Path) -> None:
    rows = [{"question": f"Q{i}", "options": ["a", "b"], "answer": "a"} for i in range(9)]
    write_questions(tmp_path, rows)
    with pytest.raises(ScenarioError, match=r"9 bad rows of 9: row 0 .*row 4 .*; and 4 more$"):
        QuestionSetTask(path="q.jsonl").check(4, tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.jsonl", None, "file not found"),
        ("q.txt", "hello", "unsupported file type '.txt'"),
        ("q.jsonl", '{"question": "Q", "options": ["a", "b"]}\n', "no column 'answer'"),
        ("q.jsonl", "not json\n", "cannot read the file"),
        ("q.csv", "question,options,answer\n", "no questions"),
        ("q.parquet", "garbage", "cannot read the file"),
    ],
)
def test_unusable_files_are_scenario_errors(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError, match=f"task.path = '{name}'|task.path: .*{name}") as error:
        QuestionSetTask(path=name).check(2, tmp_path)
    assert message in str(error.value)


def test_pick_must_name_a_row(question_file: Path) -> None:
    QuestionSetTask(path=str(question_file), pick=2).check(4, None)
    with pytest.raises(ScenarioError, match=r"task.pick = 3: .* has 3 rows \(0 to 2\)"):
        QuestionSetTask(path=str(question_file), pick=3).check(4, None)
    with pytest.raises(ValidationError):
        task(kind="questions", path="q.jsonl", pick=-1)


def test_files_are_read_once_per_modification(
    question_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    original = questions_module.read_questions

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        reads.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(questions_module, "read_questions", counting)
    config = QuestionSetTask(path=str(question_file))
    for seed in range(5):
        pose(config, 4, 0, seed)
    assert len(reads) == 1
    write_questions(question_file.parent, QUESTIONS[:2])
    stat = question_file.stat()
    os.utime(question_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert len(config.questions(4, None)) == 2
    assert len(reads) == 2


# ----------------------------------------------------------------------------- hidden profile


@pytest.mark.parametrize(("options", "n"), [(2, 4), (3, 1), (4, 3), (4, 8), (5, 20)])
def test_hidden_profile_hides_the_truth_behind_the_shared_items(options: int, n: int) -> None:
    config = HiddenProfileTask(shared_items=4, unshared_items=8, negative_items=4)
    for seed in range(60):
        truth = seed % options
        profile = pose(config, options, truth, seed, n=n)
        shared = [item for item in profile.items if item.shared]
        unshared = [item for item in profile.items if not item.shared]
        assert profile.decoy != truth
        assert profile.favoured(shared) == profile.decoy
        assert profile.favoured() == truth
        assert len(unshared) == 8
        assert len(shared) == 4 + 2 * (options - 2)
        assert all(item.holders == tuple(range(n)) for item in shared)
        assert all(len(item.holders) == 1 for item in unshared)
        assert all(item.valence < 0 for item in shared if item.option == truth)
        assert all(
            (item.option, item.valence) in {(truth, 1), (profile.decoy, -1)} for item in unshared
        )
        assert (
            sum(item.valence < 0 for item in profile.items if item.option in (truth, profile.decoy))
            == 4
        )
        assert len({item.text for item in profile.items}) == len(profile.items)
        assert all(
            item.text.startswith(f"Candidate {profile.labels[item.option]} ")
            for item in profile.items
        )
        # Round-robin: holdings differ by at most one, and min(n, 8) members hold some.
        held = [sum(i in item.holders for item in unshared) for i in range(n)]
        assert max(held) - min(held) <= 1
        assert sum(h > 0 for h in held) == min(n, 8)


def test_hidden_profile_evidence_lists_exactly_the_facts_held() -> None:
    profile = pose(HiddenProfileTask(), 3, truth=2, seed=4, n=5)
    for agent in range(5):
        evidence = profile.evidence(agent, 0, 0.7)
        for item in profile.items:
            assert (item.text in evidence) == (agent in item.holders)
        assert evidence.count("\n- ") == len(profile.held_by(agent))


def test_favoured_option_is_the_unique_best_net_score() -> None:
    def item(option: int, valence: int) -> ProfileItem:
        return ProfileItem(f"{option}{valence}", option, valence, True, (0,))

    assert favoured_option([item(0, 1), item(1, 1), item(1, 1), item(0, -1)], 3) == 1
    assert favoured_option([item(0, 1), item(1, 1)], 3) is None
    assert favoured_option([item(2, -1)], 3) is None  # options 0 and 1 tie at 0


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"shared_items": 4, "unshared_items": 4}, "must exceed shared_items"),
        ({"unshared_items": 8, "negative_items": 8}, "must be below unshared_items"),
        ({"shared_items": 2, "unshared_items": 8, "negative_items": 4}, "shared items to favour"),
    ],
)
def test_impossible_profiles_are_rejected(keys: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HiddenProfileTask(**keys)


def test_hidden_profile_needs_enough_distinct_facts() -> None:
    HiddenProfileTask(shared_items=10, unshared_items=22, negative_items=0).check(2, None)
    with pytest.raises(ScenarioError, match="needs 33 strengths"):
        HiddenProfileTask(shared_items=10, unshared_items=23, negative_items=0).check(2, None)
    with pytest.raises(ScenarioError, match="with 25 candidates"):
        HiddenProfileTask(other_items=4).check(25, None)
