"""`retroprop explain`: the equations with their numbers, both languages, and the command line."""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from rich.console import Console

import retroprop as rp
from helpers import design_network
from retroprop.cli.explain import group_values
from retroprop.core.activations import FANN_CLIP
from retroprop.files.network_file import loads_network, save_network
from retroprop.glassbox.diagnostics import Diagnostic
from retroprop.glassbox.equations import minus, num, sub
from retroprop.glassbox.trace import StepTrace, trace_step, trace_steps
from retroprop.glassbox.trace_json import step_trace_schema
from retroprop.views.explain_text import MAX_ROWS, diagnostic_text, print_explanation
from retroprop.views.i18n import STRINGS, words

CLASSIC = design_network()
X, Y = [0.05, 0.10], [0.01, 0.99]


def classic() -> rp.Network:
    return loads_network(json.dumps(CLASSIC))


def render(traces: list[StepTrace], lang: str = "en") -> str:
    console = Console(width=250, record=True, file=open(os.devnull, "w"))
    print_explanation(traces, console, lang)
    console.file.close()
    return console.export_text()


def test_numbers_and_subscripts() -> None:
    assert [num(v) for v in (0.75136507, -0.138498, 0.01, 1.25e-5, 0.0)] == [
        "0.7514",
        "−0.1385",
        "0.01",
        "1.25e−05",
        "0",
    ]
    assert sub(1, 2) == "₁₂" and sub(10, 3) == "₁₀,₃"


def test_classic_step_shows_every_equation_with_its_numbers() -> None:
    traces, _ = trace_steps(classic(), X, Y, learning_rate=0.5)
    text = render(traces)
    for line in [
        # forward: z = Σ w x + b and o = f(z)
        "z₁ = 0.15 × 0.05 + 0.2 × 0.1 + 0.35 = 0.3775",
        "o₁ = 1 / (1 + e^(−0.3775)) = 0.5933",
        "z₂ = 0.5 × 0.5933 + 0.55 × 0.5969 + 0.6 = 1.225",
        # the error
        "E = ½ Σₖ (yₖ − oₖ)² = ½ [(0.01 − 0.7514)² + (0.99 − 0.7729)²] = 0.2984",
        # output δ, exactly as in the lecture
        "δ₁ = o₁(1 − o₁)(y₁ − o₁) = 0.7514 × 0.2486 × (0.01 − 0.7514) = −0.1385",
        "δ₂ = o₂(1 − o₂)(y₂ − o₂) = 0.7729 × 0.2271 × (0.99 − 0.7729) = 0.0381",
        # hidden δ with the output weights before the update
        "δ₁ = o₁(1 − o₁) Σₖ δₖ wₖ₁ = 0.5933 × 0.4067 × ((−0.1385) × 0.4 + 0.0381 × 0.5)"
        " = −0.008771",
        # updates and new values
        "Δw₁₁ = η δ₁ x₁ = 0.5 × (−0.1385) × 0.5933 = −0.04108",
        "w₁₁ = 0.4 + (−0.04108) = 0.3589",
        "Δb₁ = η δ₁ = 0.5 × (−0.1385) = −0.06925",
        "Δw₁₁ = η δ₁ x₁ = 0.5 × (−0.008771) × 0.05 = −0.0002193",
        "Error of the same input after the step: 0.2805 (before: 0.2984, change −0.0179)",
        "No problems found.",
    ]:
        assert line in text, line
    assert text.index("Forward pass") < text.index("Backward pass") < text.index("Weight updates")
    assert "learning rate η = 0.5" in text


def test_spanish_uses_the_lecture_terms_and_no_english() -> None:
    traces, _ = trace_steps(classic(), X, Y, learning_rate=0.5)
    es = render(traces, "es")
    for term in [
        "Error cuadrático",
        "tasa de aprendizaje η = 0.5",
        "capa oculta",
        "capa de salida",
        "entrada",
        "neurona",
        "peso / sesgo",
        "Propagación hacia adelante",
        "Retropropagación",
    ]:
        assert term in es, term
    assert "δ₁ = o₁(1 − o₁)(y₁ − o₁) = 0.7514 × 0.2486 × (0.01 − 0.7514) = −0.1385" in es
    es_words = es.replace(traces[0].network, "")  # the network's repr is data, not a label
    for key, text in STRINGS.items():
        for literal, *_ in string.Formatter().parse(text["en"]):
            for fragment in literal.split(":"):
                fragment = fragment.strip(" .,()·")
                if sum(c.isalpha() for c in fragment) >= 4:
                    whole_word = rf"(?<!\w){re.escape(fragment)}(?!\w)"
                    assert not re.search(whole_word, es_words), (key, fragment)


def test_every_string_is_translated_with_the_same_fields() -> None:
    for key, text in STRINGS.items():
        assert set(text) == {"en", "es"}, key
        assert text["es"] != text["en"], key

        def fields(t: str) -> set[str]:
            return {f for _, f, _, _ in string.Formatter().parse(t) if f}

        assert fields(text["es"]) == fields(text["en"]), key
    with pytest.raises(ValueError, match="valid: en, es"):
        words("fr")


def test_the_string_file_gives_every_message_id_once() -> None:
    # strings.json groups the ids by view; an id in two sections would silently lose one
    text = resources.files("retroprop.views").joinpath("strings.json").read_text("utf-8")
    sections = json.loads(text)
    assert sum(len(section) for section in sections.values()) == len(STRINGS) > 100


def test_other_activations_show_the_general_forms() -> None:
    net = rp.Network.create([2, 3, 2], activation=["tanh", "identity"], seed=0)
    (trace,), _ = trace_steps(net, X, Y, learning_rate=0.1)
    text = render([trace])
    assert "δⱼ = f′(zⱼ) Σₖ δₖ wₖⱼ" in text and "δ₁ = f′(z₁) Σₖ δₖ wₖ₁ = " in text
    assert "o₁ = tanh(" in text
    o, y = trace.output[0, 0], 0.01
    assert f"δ₁ = y₁ − o₁ = {minus(y, o)} = {num(y - o)}" in text  # identity + squared
    assert " − −" not in text  # a negative number is added, not subtracted
    relu = rp.Network.create([2, 2, 2], activation=["relu", "sigmoid"], loss="bce", seed=1)
    text = render(trace_steps(relu, X, [0.0, 1.0], learning_rate=0.1)[0])
    assert "max(0, " in text and "δₖ = yₖ − oₖ" in text
    soft = rp.Network.create([2, 2, 3], activation=["sigmoid", "softmax"], loss="mse", seed=2)
    text = render(trace_steps(soft, X, [0.0, 1.0, 0.0], learning_rate=0.1)[0])
    assert "δₖ = Σₘ (∂oₘ/∂zₖ)(−∂E/∂oₘ)" in text and "e^" in text


def test_fann_sigmoid_shows_its_clipped_derivative() -> None:
    """f(z) is the logistic; δ is f′(z) × (error signal) with f′ FANN's c(1 − c), c = clip(o,
    0.01, 0.99), a rule stated under each sigmoid_fann layer in the reader's language."""
    net = rp.Network.create([2, 2, 2], activation="sigmoid_fann", seed=0)
    net.layers[0].W[:] = [[60.0, 60.0], [0.5, -0.5]]  # hidden z₁ = 9 + b₁: o₁ = 0.9999
    (trace,), _ = trace_steps(net, X, Y, learning_rate=0.1)
    hi = FANN_CLIP[1]  # 0.99f
    assert trace.layers[0].a[0, 0] > hi and trace.layers[0].derivative[0, 0] == hi * (1 - hi)
    text = render([trace])
    assert "o₁ = 1 / (1 + e^(" in text and "δⱼ = f′(zⱼ) Σₖ δₖ wₖⱼ" in text
    assert f"δ₁ = f′(z₁) Σₖ δₖ wₖ₁ = {num(hi * (1 - hi))} × (" in text  # 0.0099, not 9e−5
    assert "sigmoid_fann: f′(z) = c(1 − c) with c = o clipped to [0.01, 0.99]" in text
    assert text.count("f′(z) = c(1 − c)") == 2  # under both layers
    spanish = render([trace], "es")
    assert "sigmoid_fann: f′(z) = c(1 − c) con c = o recortada a [0.01, 0.99]" in spanish


def test_batches_multiple_steps_and_optimizers() -> None:
    traces, _ = trace_steps(
        classic(), [X, [0.9, 0.1]], [Y, [1.0, 0.0]], "momentum", learning_rate=0.5, steps=2
    )
    text = render(traces)
    assert "mini-batch of 2 samples" in text and "mean over the 2 samples" in text
    assert "Step 2 of 2" in text and "Error step by step" in text
    assert "Δw₁₁ = −η ∂E/∂w₁₁ + μ v = " in text
    adam = render(trace_steps(classic(), X, Y, "adam", learning_rate=0.01)[0])
    assert "Δw = −η m̂ / (√v̂ + ε)" in adam
    rprop = render(trace_steps(classic(), X, Y, "rprop-", learning_rate=0.1)[0])
    assert "(Δ = 0.1, sign(∂E/∂w) = 1)" in rprop


def test_large_layers_are_cut_short() -> None:
    net = rp.Network.create([20, 10, 2], seed=0)
    text = render(trace_steps(net, np.linspace(0, 1, 20), Y, learning_rate=0.1)[0])
    assert f"… {20 * 10 + 10 - MAX_ROWS} more rows (--format json has every number)" in text
    assert "… (21 terms)" in text  # 20 products and the bias


def test_diagnostics_in_words() -> None:
    for d in [
        Diagnostic("saturated", 0.99, 0, 1, 1),
        Diagnostic("dead", -0.5, 1, 0, 1),
        Diagnostic("vanishing", 0.001, 0, None, 1),
        Diagnostic("exploding", 500.0, 0, None, 1),
        Diagnostic("error_increased", 0.2, None, None, 3),
        Diagnostic("oscillating", 3.0, None, None, 5),
    ]:
        en, es = diagnostic_text(d, "en"), diagnostic_text(d, "es")
        assert en != es and "None" not in en + es
    assert diagnostic_text(Diagnostic("saturated", 0.99, 0, 1, 1)).startswith(
        "Layer 1, neuron 2 is saturated (o = 0.99)"
    )
    assert diagnostic_text(Diagnostic("dead", -0.5, 1, 0, 1), "es").startswith(
        "La neurona 1 de la capa 2 es una ReLU muerta"
    )
    big = rp.Network.create([2, 2, 2], seed=0)
    text = render(
        trace_steps(big, [[0.05, 0.1], [0.9, 0.2]], [Y, [0.99, 0.01]], learning_rate=50, steps=6)[
            0
        ],
        "es",
    )
    assert "aumentó el error" in text and "oscilar" in text


# -- the command line ---------------------------------------------------------------------------
def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retroprop", "explain", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(CLASSIC, indent=2))
    return path


@pytest.mark.parametrize("lang", ["en", "es"])
def test_cli_text(net_file: Path, lang: str) -> None:
    result = run(
        str(net_file), "--x", "0.05", "0.10", "--y", "0.01", "0.99", "--lr", "0.5", "--lang", lang
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "δ₁ = o₁(1 − o₁)(y₁ − o₁) = 0.7514 × 0.2486 × (0.01 − 0.7514) = −0.1385" in out
    assert ("tasa de aprendizaje" in out) == (lang == "es")
    assert ("learning rate" in out) == (lang == "en")


def test_cli_json_is_the_contract(net_file: Path, tmp_path: Path) -> None:
    result = run(str(net_file), "--x", "0.05", "0.10", "--y", "0.01", "0.99", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator(step_trace_schema()).validate(doc)
    assert doc["learning_rate"] == 0.5  # the lecture's η by default
    np.testing.assert_allclose(doc["layers"][1]["weights_after"][0], [0.35891648, 0.408666186])
    out = tmp_path / "steps.json"
    result = run(
        str(net_file), "--x", "0.05", "0.10", "--y", "0.01", "0.99", "-f", "json", "--steps", "3",
        "--optimizer", "nesterov", "--momentum", "0.8", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout == "", result.stderr
    doc = json.loads(out.read_text())
    jsonschema.Draft202012Validator(step_trace_schema()).validate(doc)
    assert [s["step"] for s in doc["steps"]] == [1, 2, 3]
    assert doc["steps"][0]["optimizer"]["momentum"] == 0.8


@pytest.mark.parametrize("lang", ["en", "es"])
def test_cli_html_page(net_file: Path, tmp_path: Path, lang: str) -> None:
    page = tmp_path / "step.html"
    result = run(
        str(net_file), "--x", "0.05", "0.10", "--y", "0.01", "0.99", "--format", "html",
        "-o", str(page), "--lang", lang, "--steps", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Step page written to {page}\n"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in html
    assert "δ₁ = o₁(1 − o₁)(y₁ − o₁) = 0.7514 × 0.2486 × (0.01 − 0.7514) = −0.1385" in html
    result = run(str(net_file), "--x", "0.05", "0.10", "--y", "0.01", "0.99", "-f", "html")
    assert result.returncode == 2 and "-o" in result.stderr


def test_cli_batch_and_negative_numbers(net_file: Path) -> None:
    result = run(
        str(net_file), "--x", "-0.5", "0.1", "--x", "1", "-2e-1", "--y", "0", "1", "--y", "1", "0",
        "-f", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["batch_size"] == 2 and doc["input"] == [[-0.5, 0.1], [1.0, -0.2]]


def test_cli_text_to_a_file_keeps_lines_whole(net_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "step.txt"
    result = run(str(net_file), "--x", "0.05", "0.10", "--y", "0.01", "0.99", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "δ₁ = o₁(1 − o₁) Σₖ δₖ wₖ₁ = 0.5933 × 0.4067 × ((−0.1385) × 0.4 + 0.0381 × 0.5)" in text


def test_cli_works_on_a_saved_network(tmp_path: Path) -> None:
    path = save_network(
        rp.Network.create([3, 4, 1], activation="tanh", seed=0), tmp_path / "n.json"
    )
    result = run(str(path), "--x", "1", "2", "3", "--y", "0.5", "--steps", "2", "--lang", "es")
    assert result.returncode == 0, result.stderr
    assert "Paso 2 de 2" in result.stdout


OK = ["--x", "1", "2", "--y", "1", "2"]


@pytest.mark.parametrize(
    ("args", "words_in_message"),
    [
        (["missing.json", *OK], "missing.json: cannot read the file"),
        (["bad.json", *OK], "layers[1].weights[0]: expected 2 numbers, got 3"),
        (["notjson.json", *OK], "not valid JSON"),
        (["net.json", "--x", "1", "--y", "1", "2"], "--x: expected 2 numbers (the network has 2"),
        (["net.json", *OK, "3"], "--y: expected 2 numbers (the network has 2 outputs), got 3"),
        (["net.json", "--x", "3", "4", *OK], "--x and --y: 2 inputs but 1 targets"),
        (["net.json", *OK, "--format", "xml"], "--format: invalid value 'xml'; valid: text, json"),
        (["net.json", *OK, "--lang", "fr"], "--lang: invalid value 'fr'; valid: en, es"),
        (["net.json", *OK, "--lr", "0"], "--learning-rate must be a positive number"),
        (["net.json", *OK, "--optimizer", "lbfgs"], "not a step rule"),
        (["net.json", *OK, "--optimizer", "magic"], "unknown optimizer 'magic'"),
        (["net.json", *OK, "--momentum", "0.5"], "--momentum: only for"),
        (["net.json", "--x", "nan", "2", "--y", "1", "2"], "--x: expected finite numbers"),
        (["net.json", "--y", "1", "2"], "--x"),
        (["net.json", *OK, "--steps", "0"], "--steps"),
    ],
)  # fmt: skip
def test_cli_bad_input_is_one_line_and_exit_2(
    args: list[str], words_in_message: str, tmp_path: Path, net_file: Path
) -> None:
    bad = json.loads(json.dumps(CLASSIC))
    bad["layers"][1]["weights"][0].append(0.1)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    (tmp_path / "notjson.json").write_text("{'format': 1}")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words_in_message in lines[0], result.stderr
    assert result.stdout == ""


def test_cli_help_has_an_example() -> None:
    result = run("--help")
    assert result.returncode == 0
    for option in ("--x", "--y", "--lr", "--steps", "--format", "--lang", "--optimizer", "Example"):
        assert option in result.stdout


def test_values_after_x_and_y_are_grouped_per_sample() -> None:
    assert group_values(["n.json", "--x", "0.05", "-0.1", "--y", "1", "--lr", "0.5"]) == [
        "n.json", "--x", "0.05 -0.1", "--y", "1", "--lr", "0.5",
    ]  # fmt: skip
    assert group_values(["--x", "1", "n.json", "--x"]) == ["--x", "1", "n.json", "--x"]


def test_explain_matches_the_trace(net_file: Path) -> None:
    """The numbers printed are the trace's numbers (which are training's)."""
    trace, _ = trace_step(classic(), X, Y, learning_rate=0.5)
    result = run(str(net_file), "--x", "0.05", "0.10", "--y", "0.01", "0.99")
    for w in trace.layers[0].W_after.ravel():
        assert f"= {num(w)}" in result.stdout
