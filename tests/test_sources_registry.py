"""The source registry, its errors, and the normalization rules all sources share."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from vrd.errors import UnknownNameError, VrdError
from vrd.sources import RowError, Source, get_source, source_class
from vrd.sources.normalize import choice_letter, infer_answer_type, parse_choices, with_image_marks


def test_registry_holds_the_data_sources() -> None:
    for name in ("synth", "geometry3k", "geoqa", "tqa", "generic"):
        assert issubclass(source_class(name), Source) and source_class(name).name == name
    assert source_class("geometry3k").hub_id == "hiyouga/geometry3k"
    assert source_class("geoqa").hub_id == "leonardPKU/GEOQA_R1V_Train_8K"


def test_unknown_source_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError) as err:
        get_source("geometry3kk")
    message = str(err.value)
    assert all(name in message for name in ("synth", "geoqa", "tqa", "generic"))
    assert "Did you mean: geometry3k" in message


def test_unknown_option_is_refused() -> None:
    with pytest.raises(VrdError, match="free_form"):
        get_source("geometry3k", question="x")


def test_cli_unknown_source_and_list() -> None:
    from vrd.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["data", "prepare", "nosuch", "--out", "/tmp/never-written"])
    assert result.exit_code == 2
    assert "unknown source 'nosuch'" in result.output and "geometry3k" in result.output
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0
    for name in ("synth", "geometry3k", "geoqa", "tqa", "generic", "hiyouga/geometry3k"):
        assert name in result.output


@pytest.mark.parametrize(("answer", "choices", "letter"), [
    ("B", ["1", "2", "3"], "B"), ("(c)", ["1", "2", "3"], "C"), ("A.", ["1", "2"], "A"), (2, ["1", "2", "3"], "C"),
    ("3", ["1", "2", "3"], "C"), ("0", ["x", "y"], "A"), ("Green", ["Red", "green"], "B"), ("x", ["y", "x"], "B"),
])
def test_choice_letter(answer: object, choices: list[str], letter: str) -> None:
    assert choice_letter(answer, choices) == letter


@pytest.mark.parametrize(("answer", "choices"), [("E", ["1", "2"]), (5, ["1", "2"]), ("purple", ["red"]),
                                                 (True, ["1", "2"])])
def test_choice_letter_rejects(answer: object, choices: list[str]) -> None:
    with pytest.raises(RowError):
        choice_letter(answer, choices)


@pytest.mark.parametrize(("answer", "kind"), [("3", "number"), ("-2.5", "number"), ("1,000", "number"),
                                              ("145°", "number"), ("50%", "number"), ("\\frac{3}{4}", "number"),
                                              ("2\\sqrt{3}", "expression"), ("x+1", "expression"), ("yes", "text"),
                                              ("liquid metal", "text")])
def test_infer_answer_type(answer: str, kind: str) -> None:
    assert infer_answer_type(answer) == kind


def test_image_marks() -> None:
    assert with_image_marks("Find x.", 1) == "<image>\nFind x."
    assert with_image_marks("<image>Find x.", 1) == "<image>Find x."
    assert with_image_marks("Compare.", 2) == "<image><image>\nCompare."
    assert with_image_marks("No figure.", 0) == "No figure."
    with pytest.raises(RowError, match="2 <image> mark"):
        with_image_marks("<image><image>Find x.", 1)


def test_parse_choices() -> None:
    assert parse_choices('["a", "b"]') == ["a", "b"]
    assert parse_choices({"b": "two", "a": "one"}) == ["one", "two"]
    assert parse_choices(None) == []
    with pytest.raises(RowError):
        parse_choices("A: 1, B: 2")
