"""Spanish wherever a learner meets words: ``--lang``, else ``RETROPROP_LANG``, else the
locale, for ``retroprop demo``, ``train`` (progress, summary, report), ``explain``, ``evaluate``,
``predict``, ``info``, ``compare`` and ``search``."""

from __future__ import annotations

import os
import string
import subprocess
import sys
from pathlib import Path

import pytest

from retroprop.errors import ParameterError
from retroprop.views.i18n import COMMAND_LINE, language


@pytest.mark.parametrize(
    ("choice", "environ", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "es_ES.UTF-8"}, "es"),
        (None, {"LANG": "es_AR"}, "es"),
        (None, {"LANG": "de_DE.UTF-8"}, "en"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LC_ALL": "en_US.UTF-8", "LANG": "es_ES.UTF-8"}, "en"),  # LC_ALL comes first
        (None, {"LC_MESSAGES": "es_MX.UTF-8", "LANG": "en_GB"}, "es"),
        (None, {"LC_ALL": "", "LANG": "es_ES"}, "es"),  # an empty variable is unset
        (None, {"RETROPROP_LANG": "es", "LC_ALL": "en_US.UTF-8"}, "es"),
        (None, {"RETROPROP_LANG": "", "LANG": "es_ES"}, "es"),
        ("en", {"RETROPROP_LANG": "es", "LANG": "es_ES"}, "en"),  # the option wins
        ("es", {}, "es"),
    ],
)
def test_language_follows_the_option_then_the_variable_then_the_locale(
    choice: str | None, environ: dict[str, str], expected: str
) -> None:
    assert language(choice, environ) == expected


def test_a_language_that_is_not_one_is_an_error_naming_it() -> None:
    with pytest.raises(ParameterError, match="RETROPROP_LANG='fr'"):
        language(None, {"RETROPROP_LANG": "fr"})
    with pytest.raises(ParameterError, match="'de'"):
        language("de", {})


def test_every_command_line_message_is_translated_with_the_same_fields() -> None:
    fields = string.Formatter()
    for key, text in COMMAND_LINE.items():
        assert set(text) == {"en", "es"}, key
        assert text["en"] != text["es"], key
        en = {name for _, name, _, _ in fields.parse(text["en"]) if name}
        es = {name for _, name, _, _ in fields.parse(text["es"]) if name}
        assert en == es, key


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command line with these environment variables (and no language set but
    them)."""
    base = {k: v for k, v in os.environ.items() if k not in ("RETROPROP_LANG", "LC_ALL", "LANG")}
    base.pop("LC_MESSAGES", None)
    return subprocess.run(
        [sys.executable, "-m", "retroprop", *args],
        cwd=cwd,
        env={**base, "COLUMNS": "120", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_speaks_spanish_with_the_option_the_variable_or_the_locale(tmp_path: Path) -> None:
    args = ["demo", "--epochs", "1"]
    for env, extra in (({}, ["--lang", "es"]), ({"LANG": "es_ES.UTF-8"}, [])):
        result = _run([*args, *extra, "--force"], tmp_path, **env)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "épocas, semilla 0" in out and "época   1/1  ECM de entrenamiento" in out
        assert "Exactitud en prueba" in out and "Matriz de confusión" in out
        assert "Curva de aprendizaje escrita en" in out
        assert "Test accuracy" not in out
    english = _run([*args, "--lang", "en", "--force"], tmp_path, RETROPROP_LANG="es")
    assert "Test accuracy" in english.stdout and "época" not in english.stdout


def test_train_speaks_spanish_in_its_summary_and_report(tmp_path: Path) -> None:
    rows = ["x1,x2,label"] + [f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}" for i in range(40)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n", "utf-8")
    args = ["train", "d.csv", "--target", "label", "--epochs", "3", "--report", "r.html"]
    result = _run(args, tmp_path, RETROPROP_LANG="es")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for words in ("filas →", "para entrenar", "tarea: clasificación de 'label'", "red: Network"):
        assert words in out, words
    assert "Resumen del entrenamiento" in out and "exactitud" in out
    assert "Modelo escrito en d.retroprop" in out and "Informe escrito en" in out
    assert 'lang="es"' in (tmp_path / "r.html").read_text("utf-8")
    # --report-lang still chooses the report's language alone
    result = _run([*args, "--report-lang", "en", "--force"], tmp_path, LANG="es_ES.UTF-8")
    assert "Resumen del entrenamiento" in result.stdout
    assert 'lang="en"' in (tmp_path / "r.html").read_text("utf-8")


def test_explain_follows_the_locale_and_a_bad_variable_is_one_line(tmp_path: Path) -> None:
    net = Path(__file__).parent / "data" / "design_network.json"
    args = ["explain", str(net), "--x", "0.05", "0.10", "--y", "0.01", "0.99", "--lr", "0.5"]
    result = _run(args, tmp_path, LANG="es_ES.UTF-8")
    assert result.returncode == 0, result.stderr
    assert "Error de la misma entrada después del paso" in result.stdout
    assert "after the step" in _run(args, tmp_path, LANG="C.UTF-8").stdout
    bad = _run(args, tmp_path, RETROPROP_LANG="fr")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "retroprop: error: RETROPROP_LANG='fr' is not a language; valid: en, es"
    )


def _table_csv(path: Path) -> Path:
    """A small two-class CSV file (40 rows, one numeric and one text feature)."""
    rows = ["x1,colour,label"] + [f"{i % 7},{'rgb'[i % 3]},{'ab'[i % 2]}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


def _says(out: str, *words: str) -> None:
    """Every one of ``words`` is in the command's output ``out``."""
    for text in words:
        assert text in out, (text, out)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``d.csv`` and the model ``d.retroprop`` trained on it."""
    folder = tmp_path_factory.mktemp("lang")
    _table_csv(folder / "d.csv")
    done = _run(["train", "d.csv", "--target", "label", "--epochs", "3"], folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_info_describes_the_model_in_spanish(trained: Path) -> None:
    for env, extra in (({"RETROPROP_LANG": "es"}, []), ({}, ["--lang", "es"])):
        result = _run(["info", "d.retroprop", *extra], trained, **env)
        assert result.returncode == 0, result.stderr
        _says(
            result.stdout,
            "modelo de retroprop, versión de formato 1",
            "tarea",
            "clasificación de 'label': clases a, b",
            "datos de entrenamiento",
            "d.csv, 40 filas",
            "Columnas (entradas de la red, en orden)",
            "numérica",
            "categórica",
            "one-hot sobre 3: b, g, r",
            "Ajustes del entrenamiento",
            "Métricas",
            "Versiones",
        )
        assert "Features" not in result.stdout and "classification of" not in result.stdout
    english = _run(["info", "d.retroprop"], trained, LANG="C.UTF-8").stdout
    assert "retroprop model, format version 1" in english and "Training settings" in english
    versions = _run(["info", "--lang", "es"], trained)
    assert versions.returncode == 0 and versions.stdout.startswith("retroprop ")


def test_search_prints_its_table_in_spanish(trained: Path) -> None:
    args = ["search", "d.csv", "--target", "label", "--hidden", "2", "3", "--epochs", "5"]
    args += ["--cv", "2", "--n-jobs", "1", "--plot", "s.png", "--force"]
    result = _run([*args, "--lang", "es"], trained)
    assert result.returncode == 0, result.stderr
    _says(
        result.stdout,
        "2 candidatos × 2 particiones = 4 ajustes (clasificación, local) en",
        "Búsqueda con validación cruzada, la mejor primero",
        "puesto",
        "ocultas",
        "parámetros",
        "accuracy (media ± desv.)",
        "tiempo de ajuste (s)",
        "Mejor modelo escrito en d.retroprop",
        "Gráfica escrita en s.png",
    )
    english = _run(args, trained, RETROPROP_LANG="en").stdout
    assert "Cross-validated search, best first" in english and "candidatos" not in english


def test_evaluate_and_predict_speak_spanish(trained: Path) -> None:
    evaluate = _run(["evaluate", "d.retroprop", "d.csv"], trained, RETROPROP_LANG="es")
    assert evaluate.returncode == 0, evaluate.stderr
    _says(evaluate.stdout, "exactitud ", " en 40 filas, pérdida ", "Por clase", "clase")
    _says(evaluate.stdout, "precisión", "exhaustividad", "soporte", "Matriz de")
    assert "Per class" not in evaluate.stdout and "accuracy" not in evaluate.stdout
    english = _run(["evaluate", "d.retroprop", "d.csv", "--lang", "en"], trained, LANG="es_ES")
    _says(english.stdout, "accuracy ", " on 40 rows, loss ", "Per class", "recall")
    args = ["predict", "d.retroprop", "d.csv", "-o", "p.csv", "--force"]
    predict = _run([*args, "--lang", "es"], trained)
    assert predict.returncode == 0, predict.stderr
    assert predict.stdout.strip() == "40 predicciones escritas en p.csv"
    assert (trained / "p.csv").read_text("utf-8").startswith("label\n")  # the file is data
    assert _run(args, trained).stdout.strip() == "40 predictions written to p.csv"


def test_evaluate_names_a_regression_in_spanish(tmp_path: Path) -> None:
    rows = ["a,b,y"] + [f"{i % 7},{(i * 3) % 5},{i % 7 + 2 * ((i * 3) % 5)}" for i in range(30)]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n", "utf-8")
    args = ["train", "r.csv", "--target", "y", "--task", "regression", "--epochs", "3"]
    assert _run(args, tmp_path).returncode == 0
    result = _run(["evaluate", "r.retroprop", "r.csv", "--lang", "es"], tmp_path)
    assert result.returncode == 0, result.stderr
    _says(result.stdout, "Regresión de 'y'", "filas", "pérdida", "R²", "MAE")


def test_compare_prints_its_tables_and_note_in_spanish(trained: Path) -> None:
    args = ["compare", "d.csv", "--target", "label", "--solvers", "sgd", "rprop"]
    args += ["--modes", "online", "--budget-seconds", "0.2", "--plot", "c.png", "--force"]
    result = _run(args, trained, RETROPROP_LANG="es")
    assert result.returncode == 0, result.stderr
    _says(
        result.stdout,
        "Algoritmos de entrenamiento: Network(",
        "Modos de actualización de sgd: Network(",
        "método",
        "lote",
        "pérdida entr.",
        "exact. prueba",
        "épocas",
        "hasta objetivo s",
        "filas de entrenamiento",
        "todas las ejecuciones empezaron con los mismos pesos",
        "Gráfica escrita en",
    )
    assert "Training algorithms" not in result.stdout
    english = _run([*args, "--lang", "en"], trained, RETROPROP_LANG="es").stdout
    _says(english, "Training algorithms", "train loss", "every run started", "Plot written to")
