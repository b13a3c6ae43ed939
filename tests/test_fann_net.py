"""FANN network files (``retroprop.files.fann_net``, ``fann_model``): the steepness conversion
against FANN's formula by hand, lenient reading (any key order, optional keys), hostile files,
and round trips through the real libfann (Debian's libfann-dev, double precision): a network
libfann wrote gives libfann's outputs in retroprop to 1e-12, and a network retroprop exports
gives retroprop's outputs in libfann."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import retroprop as rp
from retroprop.core.activations import get_activation
from retroprop.core.cascade import CascadeNetwork
from retroprop.core.network import Dense
from retroprop.data.preprocessing import Feature, Preprocessor, Target
from retroprop.files.fann_model import export_fann, import_fann
from retroprop.files.fann_net import FannNetError, fann_to_network, read_fann_net

FANN = Path(__file__).parent / "data" / "fann"

# -- a hand-written file and FANN's formula -----------------------------------------------------
# Two inputs, one hidden SIGMOID_SYMMETRIC neuron (steepness 0.7), one SIGMOID output (0.25):
# FANN: h = 2 / (1 + e^(−2·0.7·(w₀x₀ + w₁x₁ + w_b))) − 1,  o = 1 / (1 + e^(−2·0.25·(v h + v_b))).
HAND = """\
FANN_FLO_2.1
num_layers=3
network_type=0
layer_sizes=3 2 2
neurons (num_inputs, activation_function, activation_steepness)=(0, 0, 0) (0, 0, 0) (0, 0, 0) \
(3, 5, 0.7) (0, 5, 0.7) (2, 3, 0.25) (0, 3, 0.25)
connections (connected_to_neuron, weight)=(0, 0.5) (1, -1.25) (2, 0.3) (3, 2.0) (4, -0.4)
"""


def fann_formula(x: np.ndarray) -> np.ndarray:
    h = 2 / (1 + np.exp(-2 * 0.7 * (0.5 * x[:, 0] - 1.25 * x[:, 1] + 0.3))) - 1
    return 1 / (1 + np.exp(-2 * 0.25 * (2.0 * h - 0.4)))


def write(tmp_path: Path, text: str, name: str = "net.net") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_steepness_is_folded_into_the_weights(tmp_path: Path) -> None:
    network = fann_to_network(read_fann_net(write(tmp_path, HAND)), "net.net")
    assert [layer.activation.name for layer in network.layers] == ["tanh", "sigmoid"]
    # tanh(s·Σ): W = s·w;  FANN's sigmoid 1/(1 + e^(−2sΣ)) = logistic(2sΣ): W = 2s·w
    np.testing.assert_allclose(network.layers[0].W, [[0.7 * 0.5, 0.7 * -1.25]], rtol=1e-15)
    np.testing.assert_allclose(network.layers[1].b, [2 * 0.25 * -0.4], rtol=1e-15)
    x = np.array([[0.0, 0.0], [1.0, -2.0], [-3.0, 0.5]])
    np.testing.assert_allclose(network.predict(x)[:, 0], fann_formula(x), rtol=0, atol=1e-15)


def test_keys_in_any_order_and_optional_keys_optional(tmp_path: Path) -> None:
    lines = HAND.replace("\\\n", "").splitlines()
    shuffled = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    network = fann_to_network(read_fann_net(write(tmp_path, shuffled)), "net.net")
    minimal = "\n".join(line for line in lines if not line.startswith(("num_", "network")))
    again = fann_to_network(read_fann_net(write(tmp_path, minimal, "min.net")), "min.net")
    x = np.array([[0.2, -0.1]])
    np.testing.assert_allclose(network.predict(x)[:, 0], fann_formula(x), atol=1e-15)
    np.testing.assert_array_equal(again.predict(x), network.predict(x))
    # FANN 2.0 spelled the network type shortcut_connections
    old_text = HAND.replace("FANN_FLO_2.1", "FANN_FLO_2.0")
    old = write(tmp_path, old_text.replace("network_type", "shortcut_connections"), "old.net")
    assert not read_fann_net(old).shortcut


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("FANN_FLO_2.1", "FANN_FIX_2.0"), "fixed-point FANN network"),
        (lambda t: t.replace("FANN_FLO_2.1", "FANN_FLO_1.1"), "line 1: expected a FANN 2.x"),
        (lambda t: t.replace("layer_sizes=3 2 2\n", ""), "no 'layer_sizes' line"),
        (lambda t: t.replace("layer_sizes=3 2 2", "layer_sizes=3 2 3"), "7 neurons, but"),
        (lambda t: t.replace("layer_sizes=3 2 2", "layer_sizes=3 x 2"), "'x' is not a count"),
        (lambda t: t.replace("(3, 4, -0.4)", "") + "num_layers=4\n", "'num_layers' given twice"),
        (lambda t: t.replace("(4, -0.4)", ""), "4 connections, but the neurons take 5"),
        (lambda t: t.replace("(4, -0.4)", "(9, -0.4)"), "a neuron that does not exist"),
        (lambda t: t.replace("(4, -0.4)", "(4, nan)"), "not a finite number"),
        (lambda t: t.replace("(4, -0.4)", "(4 -0.4)"), "expected groups of 2 numbers"),
        (lambda t: t.replace("(0, 0.5)", "(3, 0.5)"), "neuron 3 of layer 1 connects past"),
        (lambda t: t.replace("(2, 3, 0.25)", "(2, 10, 0.25)"), "FANN's ELLIOT activation"),
        (lambda t: t.replace("(2, 3, 0.25)", "(2, 8, 0.25)"), "FANN's GAUSSIAN_SYMMETRIC activ"),
        (lambda t: t + "garbage\n", "expected key=value"),
    ],
)
def test_hostile_files_are_refused_clearly(tmp_path: Path, change: object, message: str) -> None:
    path = write(tmp_path, change(HAND))  # type: ignore[operator]
    with pytest.raises(FannNetError, match=r"net\.net") as info:
        import_fann(path)
    assert message in str(info.value)


def test_a_mixed_layer_is_refused(tmp_path: Path) -> None:
    text = HAND.replace("(3, 5, 0.7) (0, 5, 0.7)", "(3, 5, 0.7) (0, 3, 0.7)")
    two_hidden = text.replace("layer_sizes=3 2 2", "layer_sizes=3 3 2").replace(
        "(3, 5, 0.7) (0, 3, 0.7)", "(3, 5, 0.7) (3, 3, 0.7) (0, 3, 0.7)"
    )
    two_hidden = two_hidden.replace("(2, 3, 0.25)", "(3, 3, 0.25)").replace(
        "(3, 2.0) (4, -0.4)", "(0, 1) (1, 1) (2, 1) (3, 2.0) (4, 1) (5, -0.4)"
    )
    with pytest.raises(FannNetError, match="layer 1 mixes FANN activations"):
        import_fann(write(tmp_path, two_hidden))


def test_an_oversized_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retroprop.files.fann_net.MAX_NET_BYTES", 100)
    with pytest.raises(FannNetError, match="larger than 0 MiB"):
        import_fann(write(tmp_path, HAND))


def test_imported_model_columns_match_fann_data_files(tmp_path: Path) -> None:
    model = import_fann(write(tmp_path, HAND))
    assert model.task == "regression" and model.preprocessor.target.name == "y"  # one output
    assert model.feature_names == ("x1", "x2")


def test_export_folds_the_standardisation(tmp_path: Path) -> None:
    """A model trained on standardised inputs, exported, re-imported: same outputs on the raw
    columns (the hand-written reader path: no libfann needed)."""
    model = trained_diabetes_model()
    export_fann(model, tmp_path / "d.net")
    back = import_fann(tmp_path / "d.net")
    table = rp.read_data(FANN / "diabetes.test")
    np.testing.assert_allclose(back.outputs(table), model.outputs(table), rtol=0, atol=1e-12)


def test_export_refuses_softmax_and_categorical(tmp_path: Path) -> None:
    net = rp.Network.create([2, 3, 2], activation="sigmoid", output_activation="softmax")
    with pytest.raises(FannNetError, match="softmax, which FANN does not have"):
        export_fann(net, tmp_path / "x.net")


def trained_diabetes_model() -> rp.Model:
    """A small sigmoid/squared-error model on diabetes.train, trained by retroprop train."""
    from retroprop.cli._training import TrainSettings, train_table

    settings = TrainSettings(
        target="class",
        hidden=(5,),
        output_activation="sigmoid",
        loss="squared_error",
        solver="irprop-",
        batch_size="all",
        epochs=20,
        validation_fraction=0.0,
    )
    return train_table(rp.read_data(FANN / "diabetes.train"), settings, []).model


# -- the real libfann -------------------------------------------------------------------------
HARNESS = r"""
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <doublefann.h>

/* harness make KIND NET DATA: create a network with fixed weights, save it as NET, print its
   outputs on DATA's inputs.  harness run NET DATA: load NET, print its outputs on DATA. */
static struct fann *create(const char *kind) {
    struct fann *ann;
    if (!strcmp(kind, "sparse")) ann = fann_create_sparse(0.6f, 4, 8, 5, 4, 2);
    else if (!strcmp(kind, "shortcut")) ann = fann_create_shortcut(3, 8, 3, 2);
    else ann = fann_create_standard(4, 8, 5, 4, 2);
    fann_set_activation_function_layer(ann, FANN_SIGMOID_SYMMETRIC, 1);
    fann_set_activation_steepness_layer(ann, 0.7, 1);
    fann_set_activation_function_layer(ann, FANN_SIGMOID, 2);
    fann_set_activation_steepness_layer(ann, 0.3, 2);
    fann_set_activation_steepness(ann, 1.1, 2, 1); /* one neuron steeper than its layer */
    fann_set_activation_function_output(ann, !strcmp(kind, "linear") ? FANN_LINEAR : FANN_SIGMOID);
    fann_set_activation_steepness_output(ann, !strcmp(kind, "linear") ? 1.5 : 0.5);
    if (!strcmp(kind, "elliot")) fann_set_activation_function_output(ann, FANN_ELLIOT);
    if (!strcmp(kind, "shortcut")) fann_set_activation_function_layer(ann, FANN_GAUSSIAN, 1);
    if (!strcmp(kind, "periodic")) {
        fann_set_activation_function_layer(ann, FANN_GAUSSIAN, 1);
        fann_set_activation_function_layer(ann, FANN_COS_SYMMETRIC, 2);
        fann_set_activation_function_output(ann, FANN_SIN_SYMMETRIC);
    }
    unsigned n = fann_get_total_connections(ann);
    struct fann_connection *c = malloc(n * sizeof *c);
    fann_get_connection_array(ann, c);
    for (unsigned i = 0; i < n; i++)
        fann_set_weight(ann, c[i].from_neuron, c[i].to_neuron, sin(i + 1.0) * 1.5);
    free(c);
    return ann;
}

/* cascade-train a shortcut network on DATA, candidates of activations retroprop has */
static struct fann *grown(const char *data_file) {
    enum fann_activationfunc_enum kinds[] = {FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC, FANN_GAUSSIAN,
                                             FANN_SIN_SYMMETRIC, FANN_COS_SYMMETRIC};
    struct fann_train_data *data = fann_read_train_from_file(data_file);
    srand(1);
    struct fann *ann = fann_create_shortcut(2, fann_num_input_train_data(data),
                                            fann_num_output_train_data(data));
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_cascade_activation_functions(ann, kinds, 5);
    fann_cascadetrain_on_data(ann, data, 3, 0, 0.0);
    return ann;
}

int main(int argc, char **argv) {
    int make = !strcmp(argv[1], "make");
    struct fann *ann = !make ? fann_create_from_file(argv[2])
                       : !strcmp(argv[2], "cascade") ? grown(argv[4]) : create(argv[2]);
    if (!ann) return 3;
    if (make && fann_save(ann, argv[3])) return 4;
    struct fann_train_data *data = fann_read_train_from_file(argv[make ? 4 : 3]);
    if (!data) return 5;
    for (unsigned i = 0; i < fann_length_train_data(data); i++) {
        fann_type *o = fann_run(ann, data->input[i]);
        for (unsigned k = 0; k < fann_get_num_output(ann); k++) printf("%.17g ", o[k]);
        printf("\n");
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C harness, built with the system compiler against libfann (double precision)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (cc) to build the libfann harness")
    if not Path("/usr/include/doublefann.h").exists():
        pytest.skip("libfann is not installed (Debian: apt-get install libfann-dev)")
    folder = tmp_path_factory.mktemp("fann")
    source, binary = folder / "harness.c", folder / "harness"
    source.write_text(HARNESS)
    built = subprocess.run(
        [cc, "-O1", str(source), "-o", str(binary), "-ldoublefann", "-lm"],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        pytest.skip(f"the libfann harness does not build: {built.stderr.strip()[:200]}")
    return binary


def libfann(harness: Path, *args: str | Path) -> np.ndarray:
    done = subprocess.run([harness, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr)
    return np.array([line.split() for line in done.stdout.splitlines()], dtype=float)


@pytest.mark.parametrize("kind", ["layered", "sparse", "linear", "periodic", "shortcut"])
def test_a_network_libfann_wrote_gives_its_outputs(
    harness: Path, tmp_path: Path, kind: str
) -> None:
    data = FANN / "diabetes.test"
    expected = libfann(harness, "make", kind, tmp_path / "f.net", data)
    model = import_fann(tmp_path / "f.net")
    got = model.outputs(rp.read_data(data))
    assert got.shape == expected.shape == (384, 2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("kind", "message"), [("elliot", "ELLIOT")])
def test_what_retroprop_cannot_compute_is_refused(
    harness: Path, tmp_path: Path, kind: str, message: str
) -> None:
    libfann(harness, "make", kind, tmp_path / "f.net", FANN / "diabetes.test")
    with pytest.raises(FannNetError, match=message):
        import_fann(tmp_path / "f.net")


def test_a_network_fann_grew_by_cascade_training_gives_its_outputs(
    harness: Path, tmp_path: Path
) -> None:
    data = FANN / "parity8.test"
    expected = libfann(harness, "make", "cascade", tmp_path / "c.net", data)
    model = import_fann(tmp_path / "c.net")
    assert isinstance(model.network, CascadeNetwork) and 1 <= model.network.n_hidden <= 3
    np.testing.assert_allclose(model.outputs(rp.read_data(data)), expected, rtol=0, atol=1e-12)


def test_an_exported_cascade_gives_its_outputs_in_libfann(harness: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    net = CascadeNetwork.create(8, 2, output_activation="sigmoid", seed=5)
    for act in ("tanh", "gaussian", "sin", "cos", "sigmoid", "identity"):
        W = rng.normal(size=(1, net.output.n_in))
        net.install(Dense(W, rng.normal(size=1), get_activation(act)), rng.normal(size=(2, 1)))
    features = tuple(Feature(f"x{j + 1}", "numeric", 0.1 * j, 1 + 0.5 * j) for j in range(8))
    target = Target("class", "classification", classes=(0, 1))
    model = rp.Model(net, Preprocessor(features, target, (*(f.name for f in features), "class")))
    libfann_agrees(harness, model, tmp_path / "c.net")
    back = import_fann(tmp_path / "c.net")  # and back: the raw columns, the same outputs
    table = rp.read_data(FANN / "diabetes.test")
    np.testing.assert_allclose(back.outputs(table), model.outputs(table), rtol=0, atol=1e-12)


def test_an_exported_model_gives_its_outputs_in_libfann(harness: Path, tmp_path: Path) -> None:
    libfann_agrees(harness, trained_diabetes_model(), tmp_path / "d.net")


def libfann_agrees(harness: Path, model: rp.Model, path: Path) -> None:
    """Export ``model`` to ``path``; libfann's outputs on diabetes.test are the model's."""
    export_fann(model, path)
    data = FANN / "diabetes.test"
    got = libfann(harness, "run", path, data)
    np.testing.assert_allclose(got, model.outputs(rp.read_data(data)), rtol=0, atol=1e-12)


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retroprop", *map(str, args)], capture_output=True, text=True
    )


def test_command_line_import_and_export(harness: Path, tmp_path: Path) -> None:
    data = FANN / "diabetes.test"
    expected = libfann(harness, "make", "layered", tmp_path / "f.net", data)
    model = tmp_path / "f.retroprop"
    imported = cli("import-fann", tmp_path / "f.net", "-o", model)
    assert imported.returncode == 0, imported.stderr
    assert "Network(8 → 5 tanh → 4 sigmoid → 2 sigmoid" in imported.stdout
    scored = cli("evaluate", model, data)
    assert scored.returncode == 0, scored.stderr
    again = cli("import-fann", tmp_path / "f.net", "-o", model)
    assert again.returncode == 2 and "pass --force" in again.stderr
    back = tmp_path / "back.net"
    exported = cli("export", model, "--format", "fann", "-o", back)
    assert exported.returncode == 0, exported.stderr
    np.testing.assert_allclose(libfann(harness, "run", back, data), expected, rtol=0, atol=1e-12)


def test_fann_sigmoid_from_training_to_libfann(harness: Path, tmp_path: Path) -> None:
    """``--activation sigmoid_fann``: trained from the command line, kept by the model file,
    exported as FANN_SIGMOID with steepness ½ (libfann computes the model's outputs), and read
    back as ``sigmoid`` (the same outputs: the file cannot say which derivative trained it)."""
    model, net = tmp_path / "m.retroprop", tmp_path / "m.net"
    trained = cli("train", FANN / "diabetes.train", "--hidden", "5", "--activation",
                  "sigmoid_fann", "--output-activation", "sigmoid_fann", "--loss",
                  "squared_error", "--solver", "irprop-fann", "--batch-size", "all", "--epochs",
                  "20", "-o", model)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "Network(8 → 5 sigmoid_fann → 2 sigmoid_fann, squared_error)" in trained.stdout
    loaded = rp.load_model(model)
    assert [ly.activation for ly in loaded.network.layers] == [get_activation("sigmoid_fann")] * 2
    exported = cli("export", model, "--format", "fann", "-o", net)
    assert exported.returncode == 0, exported.stderr
    fann = read_fann_net(net)
    units = fann.activation != 0  # the input layer's neurons are written as LINEAR, 0
    assert set(fann.activation[units]) == {3} and set(fann.steepness[units]) == {0.5}
    data = FANN / "diabetes.test"
    expected = loaded.outputs(rp.read_data(data))
    np.testing.assert_allclose(libfann(harness, "run", net, data), expected, rtol=0, atol=1e-12)
    back = import_fann(net)
    assert [ly.activation.name for ly in back.network.layers] == ["sigmoid", "sigmoid"]
    np.testing.assert_allclose(back.outputs(rp.read_data(data)), expected, rtol=0, atol=1e-12)


def test_export_and_import_speak_the_chosen_language(tmp_path: Path) -> None:
    model, net = tmp_path / "d.retroprop", tmp_path / "d.net"
    trained = cli(
        "train", FANN / "diabetes.train", "-o", model, "--epochs", "2", "-q",
        "--output-activation", "sigmoid", "--loss", "squared_error",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    exported = cli("export", model, "--format", "fann", "-o", net, "--lang", "es")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"Red FANN escrita en {net}"
    back = tmp_path / "back.retroprop"
    imported = cli("import-fann", net, "-o", back, "--lang", "es")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().endswith(f"Modelo escrito en {back}")
    english = cli("import-fann", net, "-o", tmp_path / "en.retroprop", "--lang", "en")
    assert english.stdout.strip().endswith(f"Model written to {tmp_path / 'en.retroprop'}")
