"""Structured answers, request keys and the ``[llm]`` configuration (no network)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sim.llm import (
    Answer,
    BackendConfig,
    ChatRequest,
    LLMConfig,
    answer_grammar,
    answer_instructions,
    answer_schema,
    make_request,
    parse_answer,
    repair_messages,
)

AB = ("A", "B")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"answer": "B", "confidence": 0.8, "message": "hi"}', Answer("B", 0.8, "hi")),
        ('  {"Answer": "b", "CONFIDENCE": "0.25"}\n', Answer("B", 0.25, "")),
        (
            'Sure!\n```json\n{"answer": "A", "confidence": 1, "message": "x"}\n```\nDone.',
            Answer("A", 1.0, "x"),
        ),
        (
            'I pick {"answer": "A", "confidence": 0.6, "message": "m"} as my reply {oops',
            Answer("A", 0.6, "m"),
        ),
        ('answer: B\nconfidence: 85%\nmessage: "sure thing"', Answer("B", 0.85, "sure thing")),
        (
            '{"answer": "B", "confidence": 0.7, "message": "because the sig',
            Answer("B", 0.7, "because the sig"),
        ),
        ('{"answer": "Option A", "confidence": 70, "message": ""}', Answer("A", 0.7, "")),
        ('{"answer": "A", "confidence": 0.5, "message": {"x": 1}}', Answer("A", 0.5, '{"x": 1}')),
    ],
)
def test_parse_answer_reads_json_fenced_embedded_and_lenient_replies(
    text: str, expected: Answer
) -> None:
    assert parse_answer(text, AB) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I think the answer is probably B.",
        '{"answer": "C", "confidence": 0.5, "message": ""}',  # not an option
        '{"answer": "A", "message": "no confidence"}',
        '{"answer": "A", "confidence": 1.5e3, "message": ""}',  # out of range
        '{"answer": "A", "confidence": -0.1, "message": ""}',
        '{"answer": "A", "confidence": true, "message": ""}',
        '{"answer": "A", "confidence": "high", "message": ""}',
        '{"answer": "A", "confid',  # cut off before the confidence
        "[1, 2, 3]",
    ],
)
def test_parse_answer_rejects_unusable_replies(text: str) -> None:
    assert parse_answer(text, AB) is None


def test_integer_labels_accept_numbers_and_numeric_strings_only() -> None:
    options = (0, 1, 2)
    assert parse_answer('{"answer": 2, "confidence": 0.5}', options) == Answer(2, 0.5, "")
    assert parse_answer('{"answer": "1", "confidence": 0.5}', options) == Answer(1, 0.5, "")
    assert parse_answer('{"answer": 1.0, "confidence": 0.5}', options) == Answer(1, 0.5, "")
    assert parse_answer('{"answer": 3, "confidence": 0.5}', options) is None
    assert parse_answer('{"answer": true, "confidence": 0.5}', options) is None


def test_case_insensitive_match_only_when_unambiguous() -> None:
    assert parse_answer('{"answer": "YES", "confidence": 0.5}', ("yes", "no")) == Answer(
        "yes", 0.5, ""
    )
    assert parse_answer('{"answer": "X", "confidence": 0.5}', ("x", "X")) == Answer("X", 0.5, "")
    assert parse_answer('{"answer": "x ", "confidence": 0.5}', ("Y", "X", "x")) == Answer(
        "x", 0.5, ""
    )
    assert parse_answer('{"answer": "Yes", "confidence": 0.5}', ("yes", "YES")) is None


def test_answer_rejects_confidence_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="confidence"):
        Answer("A", 1.01, "")


def test_schema_lists_the_options_with_their_type() -> None:
    schema = answer_schema(AB)
    assert schema["properties"]["answer"] == {"enum": ["A", "B"], "type": "string"}
    assert schema["required"] == ["answer", "confidence", "message"]
    assert schema["additionalProperties"] is False
    assert answer_schema((0, 1))["properties"]["answer"] == {"enum": [0, 1], "type": "integer"}
    assert "type" not in answer_schema((0, "x"))["properties"]["answer"]
    with pytest.raises(ValueError, match="repeat"):
        answer_schema(("A", "A"))
    with pytest.raises(ValueError, match="at least one"):
        answer_schema(())


def test_grammar_names_each_option_as_a_json_literal_and_bounds_the_message() -> None:
    grammar = answer_grammar(("A", 'say "hi"', 3), max_message_chars=17)
    lines = dict(line.split(" ::= ", 1) for line in grammar.strip().splitlines())
    assert lines["answer"] == r'"\"A\"" | "\"say \\\"hi\\\"\"" | "3"'
    assert lines["message"] == r'"\"" char{0,17} "\""'
    assert set(lines) == {"root", "answer", "confidence", "message", "char", "ws"}


def test_repair_messages_append_the_bad_reply_and_the_format() -> None:
    original = (("system", "be brief"), ("user", "pick"))
    repaired = repair_messages(original, "dunno", AB)
    assert repaired[:2] == original
    assert repaired[2] == ("assistant", "dunno")
    assert repaired[3][0] == "user"
    assert answer_instructions(AB) in repaired[3][1]
    assert '"A", "B"' in repaired[3][1]


def test_request_key_is_stable_and_covers_every_field() -> None:
    request = ChatRequest(
        messages=(("user", "Is 7 prime?"),), model="m", temperature=0.5, max_tokens=32, seed=3
    )
    # A golden value: if this changes, every cache is invalidated; bump KEY_VERSION then.
    assert request.key() == request.key()
    assert len(request.key()) == 64
    assert request.key() == GOLDEN_KEY
    variants = [
        ChatRequest(
            messages=(("user", "Is 7 prime? "),), model="m", temperature=0.5, max_tokens=32, seed=3
        ),
        ChatRequest(
            messages=(("system", "Is 7 prime?"),), model="m", temperature=0.5, max_tokens=32, seed=3
        ),
        ChatRequest(messages=request.messages, model="m2", temperature=0.5, max_tokens=32, seed=3),
        ChatRequest(messages=request.messages, model="m", temperature=0.6, max_tokens=32, seed=3),
        ChatRequest(messages=request.messages, model="m", temperature=0.5, max_tokens=33, seed=3),
        ChatRequest(messages=request.messages, model="m", temperature=0.5, max_tokens=32, seed=4),
        ChatRequest(
            messages=request.messages, model="m", temperature=0.5, max_tokens=32, seed=3, top_p=0.9
        ),
        ChatRequest(
            messages=request.messages,
            model="m",
            temperature=0.5,
            max_tokens=32,
            seed=3,
            sample_index=1,
        ),
        ChatRequest(
            messages=request.messages, model="m", temperature=0.5, max_tokens=32, seed=3, options=AB
        ),
    ]
    keys = {variant.key() for variant in variants}
    assert len(keys) == len(variants) and request.key() not in keys


GOLDEN_KEY = "789505f01cad358792313f232daae0a600717457949ee1b67bca99d6ad4c0828"


def test_request_rejects_malformed_messages() -> None:
    with pytest.raises(ValueError, match="at least one message"):
        ChatRequest(messages=(), model="m")
    with pytest.raises(ValueError, match="role"):
        ChatRequest(messages=(("robot", "hi"),), model="m")


def test_make_request_takes_sampling_from_the_backend_and_offsets_the_seed() -> None:
    backend = BackendConfig(temperature=0.3, max_tokens=20, top_p=0.8, seed=10)
    request = make_request(backend, [("user", "q")], options=["A", "B"], sample_index=2)
    assert (request.temperature, request.max_tokens, request.top_p) == (0.3, 20, 0.8)
    assert (request.seed, request.sample_index, request.options) == (12, 2, ("A", "B"))
    assert request.constrain
    unconstrained = BackendConfig(structured="none")
    assert not make_request(unconstrained, [("user", "q")], options=["A"]).constrain


def test_config_rejects_incomplete_or_unknown_settings() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        BackendConfig(kind="openai", model="gpt")
    with pytest.raises(ValidationError, match="needs model"):
        BackendConfig(kind="openai", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ValidationError, match=r"cache\.mode"):
        LLMConfig.model_validate({"backend": {"kind": "replay"}, "cache": {"mode": "off"}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        LLMConfig.model_validate({"backend": {"api_key": "sk-nope"}})
    config = LLMConfig.model_validate(
        {
            "backend": {"kind": "openai", "base_url": "http://x/v1", "model": "gpt"},
            "prices": {"gpt": {"prompt_usd_per_million": 1, "completion_usd_per_million": 2}},
            "budget": {"run": {"max_cost_usd": 1.5}},
        }
    )
    assert config.backend.structured_mode() == "response_format"
    assert BackendConfig().structured_mode() == "grammar"
    assert config.prices["gpt"].cost(1_000_000, 500_000) == pytest.approx(2.0)
    assert json.loads(config.model_dump_json())["budget"]["run"]["max_cost_usd"] == 1.5
