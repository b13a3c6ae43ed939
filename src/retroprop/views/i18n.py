"""Words of the explanations in English and Spanish (the lecture's terms).

Equations are language-neutral and built elsewhere (:mod:`retroprop.glassbox.equations`); this table
holds every word around them. Each entry is a ``str.format`` template; both languages take the
same fields. A test checks that every Spanish entry differs from its English one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from retroprop.errors import ParameterError

__all__ = ["COMMAND_LINE", "LANGUAGES", "STRINGS", "command_words", "language", "words"]

LANGUAGES = ("en", "es")

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "One backpropagation step", "es": "Un paso de retropropagación"},
    "step_of": {"en": "Step {step} of {steps}", "es": "Paso {step} de {steps}"},
    "network": {"en": "Network", "es": "Red"},
    "optimizer": {"en": "optimizer", "es": "optimizador"},
    "learning_rate": {"en": "learning rate", "es": "tasa de aprendizaje"},
    "momentum": {"en": "momentum", "es": "momento"},
    "input": {"en": "input", "es": "entrada"},
    "target": {"en": "target", "es": "salida deseada"},
    "sample": {"en": "sample", "es": "muestra"},
    "batch": {
        "en": "mini-batch of {n} samples: one δ per sample, ∂E/∂w is the mean over the batch",
        "es": "minilote de {n} muestras: un δ por muestra, ∂E/∂w es la media sobre el lote",
    },
    "forward": {"en": "Forward pass", "es": "Propagación hacia adelante"},
    "backward": {
        "en": "Backward pass: error signals δ",
        "es": "Retropropagación: señales de error δ",
    },
    "updates": {"en": "Weight updates", "es": "Actualización de los pesos"},
    "layer": {"en": "layer {l}", "es": "capa {l}"},
    "hidden_layer": {"en": "hidden layer", "es": "capa oculta"},
    "output_layer": {"en": "output layer", "es": "capa de salida"},
    "inputs_are_x": {
        "en": "inputs xᵢ: the network's input",
        "es": "entradas xᵢ: la entrada de la red",
    },
    "inputs_are_o": {
        "en": "inputs xᵢ: the outputs oᵢ of layer {l}",
        "es": "entradas xᵢ: las salidas oᵢ de la capa {l}",
    },
    "weights_above": {
        "en": "wₖⱼ: weights of layer {l} before the update",
        "es": "wₖⱼ: pesos de la capa {l} antes de la actualización",
    },
    "inputs_named": {"en": "Inputs", "es": "Entradas"},
    "outputs_named": {"en": "Outputs", "es": "Salidas"},
    "column": {"en": "column", "es": "columna"},
    "class": {"en": "class", "es": "clase"},
    "target_standardised": {
        "en": "y is standardised: y = ({column} {shift}) / {scale}; o, y and E are in these units",
        "es": "y está estandarizada: y = ({column} {shift}) / {scale}; o, y y E están en estas "
        "unidades",
    },
    "neuron": {"en": "neuron", "es": "neurona"},
    "net_input": {"en": "net input", "es": "entrada neta"},
    "activation": {"en": "output", "es": "salida"},
    "error_signal": {"en": "error signal", "es": "señal de error"},
    "parameter": {"en": "weight / bias", "es": "peso / sesgo"},
    "gradient": {"en": "gradient ∂E/∂w", "es": "gradiente ∂E/∂w"},
    "change": {"en": "change", "es": "cambio"},
    "new_value": {"en": "new value", "es": "nuevo valor"},
    "squared_error": {"en": "Squared error", "es": "Error cuadrático"},
    "binary_cross_entropy": {"en": "Binary cross-entropy", "es": "Entropía cruzada binaria"},
    "categorical_cross_entropy": {
        "en": "Categorical cross-entropy",
        "es": "Entropía cruzada categórica",
    },
    "absolute_error": {"en": "Absolute error", "es": "Error absoluto"},
    "poisson": {"en": "Half Poisson deviance", "es": "Media desviación de Poisson"},
    "mean_error": {
        "en": "mean over the {n} samples: {value}",
        "es": "media sobre las {n} muestras: {value}",
    },
    "error_before_after": {
        "en": "Error of the same input after the step: {after} (before: {before}, change {change})",
        "es": "Error de la misma entrada después del paso: {after} "
        "(antes: {before}, cambio {change})",
    },
    "more_rows": {
        "en": "… {n} more rows (--format json has every number)",
        "es": "… {n} filas más (--format json tiene todos los números)",
    },
    "summary": {"en": "Error step by step", "es": "Error paso a paso"},
    "error_before": {"en": "error before", "es": "error antes"},
    "error_after": {"en": "error after", "es": "error después"},
    "step": {"en": "step", "es": "paso"},
    "diagnostics": {"en": "Diagnostics", "es": "Diagnóstico"},
    "no_findings": {"en": "No problems found.", "es": "No se encontraron problemas."},
    "saturated": {
        "en": "Layer {layer}, neuron {neuron} is saturated (o = {value}): f′(z) is nearly 0, "
        "so its δ and the changes of its weights are tiny.",
        "es": "La neurona {neuron} de la capa {layer} está saturada (o = {value}): f′(z) es casi "
        "0, así que su δ y los cambios de sus pesos son diminutos.",
    },
    "dead": {
        "en": "Layer {layer}, neuron {neuron} is a dead ReLU (z = {value} ≤ 0): its output and "
        "its δ are 0, so it does not learn.",
        "es": "La neurona {neuron} de la capa {layer} es una ReLU muerta (z = {value} ≤ 0): su "
        "salida y su δ son 0, así que no aprende.",
    },
    "vanishing": {
        "en": "The δ of layer {layer} are {value} times those of the output layer: the gradient "
        "vanishes on its way back, so this layer learns slowly.",
        "es": "Los δ de la capa {layer} son {value} veces los de la capa de salida: el gradiente "
        "se desvanece hacia atrás, así que esta capa aprende despacio.",
    },
    "exploding": {
        "en": "The δ of layer {layer} are {value} times those of the output layer: the gradient "
        "explodes on its way back; try smaller weights or a smaller learning rate.",
        "es": "Los δ de la capa {layer} son {value} veces los de la capa de salida: el gradiente "
        "explota hacia atrás; pruebe pesos más pequeños o una tasa de aprendizaje menor.",
    },
    "error_increased": {
        "en": "Step {step} made the error larger (by {value}): the learning rate may be too large.",
        "es": "El paso {step} aumentó el error (en {value}): la tasa de aprendizaje puede ser "
        "demasiado grande.",
    },
    "oscillating": {
        "en": "The error went up and down {value} times over the steps: the learning rate makes "
        "it oscillate; try a smaller one.",
        "es": "El error subió y bajó {value} veces a lo largo de los pasos: la tasa de "
        "aprendizaje lo hace oscilar; pruebe una menor.",
    },
    # the step-through page
    "page_title": {
        "en": "retroprop · one backpropagation step",
        "es": "retroprop · un paso de retropropagación",
    },
    "first": {"en": "« Start", "es": "« Inicio"},
    "prev": {"en": "◀ Back", "es": "◀ Atrás"},
    "next": {"en": "Next ▶", "es": "Siguiente ▶"},
    "last": {"en": "End »", "es": "Fin »"},
    "language": {"en": "Language", "es": "Idioma"},
    "keys_hint": {
        "en": "Arrow keys ← → walk through the step; hover an edge for wⱼᵢ, ∂E/∂w and Δw.",
        "es": "Las flechas ← → recorren el paso; pase el ratón sobre una conexión para ver "
        "wⱼᵢ, ∂E/∂w y Δw.",
    },
    "input_title": {"en": "Input and target", "es": "Entrada y salida deseada"},
    "after_title": {"en": "After the step", "es": "Después del paso"},
    "first_sample": {
        "en": "The drawing follows sample 1 of the mini-batch.",
        "es": "El dibujo sigue la muestra 1 del minilote.",
    },
    # the training report (retroprop.views.report)
    "report_title": {"en": "Training report", "es": "Informe de entrenamiento"},
    "report_summary": {"en": "Summary", "es": "Resumen"},
    "report_epochs": {"en": "epochs", "es": "épocas"},
    "report_stopped_early": {
        "en": "stopped early; best epoch {best}",
        "es": "parada temprana; mejor época {best}",
    },
    "report_data": {"en": "data", "es": "datos"},
    "report_samples": {"en": "samples", "es": "muestras"},
    "report_training": {"en": "training", "es": "entrenamiento"},
    "report_validation": {"en": "validation", "es": "validación"},
    "report_test": {"en": "test", "es": "prueba"},
    "report_test_final": {"en": "test (final network)", "es": "prueba (red final)"},
    "report_accuracy": {"en": "accuracy", "es": "exactitud"},
    "report_epoch": {"en": "epoch", "es": "época"},
    "report_best": {"en": "best epoch", "es": "mejor época"},
    "report_summary_note": {
        "en": "Training and test: the final network. Validation: as measured after epoch {epoch}.",
        "es": "Entrenamiento y prueba: la red final. Validación: medida después de la época "
        "{epoch}.",
    },
    "report_summary_final": {
        "en": "Every row: the final network.",
        "es": "Todas las filas: la red final.",
    },
    "report_loss": {"en": "loss ({loss})", "es": "pérdida ({loss})"},
    "report_r2": {"en": "R²", "es": "R² (coef. de determinación)"},
    "report_fig_error": {"en": "Error per epoch", "es": "Error por época"},
    "report_cap_error": {
        "en": "{loss}: the mean over the samples of the per-sample error E, the loss training "
        "minimised and the summary shows, measured after each epoch.",
        "es": "{loss}: la media sobre las muestras del error E de cada muestra, la pérdida que el "
        "entrenamiento minimizó y que muestra el resumen, medida después de cada época.",
    },
    "report_fig_accuracy": {"en": "Accuracy per epoch", "es": "Exactitud por época"},
    "report_cap_accuracy": {
        "en": "Fraction of the samples classified right (the largest output, or o ≥ 0.5 when "
        "there is one output).",
        "es": "Fracción de las muestras bien clasificadas (la salida mayor, u o ≥ 0.5 cuando hay "
        "una sola salida).",
    },
    "report_fig_confusion": {"en": "Confusion matrix", "es": "Matriz de confusión"},
    "report_cap_confusion": {
        "en": "Rows: the true class; columns: the network's class; on the {data} data "
        "({n} samples).",
        "es": "Filas: la clase real; columnas: la clase de la red; con los datos de {data} "
        "({n} muestras).",
    },
    "report_true": {"en": "true class", "es": "clase real"},
    "report_predicted": {"en": "network's class", "es": "clase de la red"},
    "report_fig_boundary": {"en": "Decision boundary", "es": "Frontera de decisión"},
    "report_cap_boundary": {
        "en": "The class the final network gives to each point of the input plane; circles: "
        "training samples, triangles: test samples.",
        "es": "La clase que la red final asigna a cada punto del plano de entrada; círculos: "
        "muestras de entrenamiento, triángulos: muestras de prueba.",
    },
    "report_fig_network": {
        "en": "The network with its final weights",
        "es": "La red con sus pesos finales",
    },
    "report_cap_network": {
        "en": "Blue: positive weight wⱼᵢ, red: negative; the thicker the line, the larger |wⱼᵢ|. "
        "Layers of more than {max} neurons show only their first and last ones.",
        "es": "Azul: peso wⱼᵢ positivo, rojo: negativo; cuanto más gruesa la línea, mayor "
        "|wⱼᵢ|. Las capas de más de {max} neuronas muestran solo las primeras y las últimas.",
    },
    "report_more_neurons": {"en": "+{n} more", "es": "+{n} más"},
    "report_fig_delta": {
        "en": "Mean |δ| per layer and epoch",
        "es": "Media de |δ| por capa y época",
    },
    "report_cap_delta": {
        "en": "Recorded during training, after each epoch, on a fixed sample of at most {n} "
        "training rows. A hidden layer far below the output layer means that the gradient "
        "vanishes on its way back.",
        "es": "Registrada durante el entrenamiento, después de cada época, en una muestra fija de "
        "como mucho {n} filas de entrenamiento. Una capa oculta muy por debajo de la capa de "
        "salida indica que el gradiente se desvanece hacia atrás.",
    },
    "report_fig_units": {"en": "Saturated and dead units", "es": "Neuronas saturadas y muertas"},
    "report_cap_units": {
        "en": "Solid lines: the share of a layer's outputs, over its units and the recorded "
        "samples, in the flat part of f (sigmoid: o < 0.02 or o > 0.98; tanh: |o| > 0.98). "
        "Dashed lines: the fraction of a ReLU layer's units that are dead (z ≤ 0 on every "
        "recorded sample). Measured after each epoch.",
        "es": "Líneas continuas: la proporción de las salidas de una capa, sobre sus neuronas y "
        "las muestras registradas, en la parte plana de f (sigmoide: o < 0.02 u o > 0.98; "
        "tanh: |o| > 0.98). Líneas discontinuas: la fracción de las neuronas de una capa ReLU "
        "que están muertas (z ≤ 0 en todas las muestras registradas). Medidas después de cada "
        "época.",
    },
    "report_saturated_label": {
        "en": "{layer}: saturated outputs",
        "es": "{layer}: salidas saturadas",
    },
    "report_dead_label": {"en": "{layer}: dead units", "es": "{layer}: neuronas muertas"},
    "report_fraction": {"en": "share", "es": "proporción"},
    "report_no_units": {
        "en": "no sigmoid, tanh or ReLU layer",
        "es": "ninguna capa sigmoide, tanh o ReLU",
    },
    "report_not_recorded": {
        "en": "Not recorded. Pass retroprop.Recorder(X, Y) among the callbacks of fit to "
        "record δ and saturation during training.",
        "es": "No se registró. Pase retroprop.Recorder(X, Y) entre los callbacks de fit "
        "para registrar δ y saturación durante el entrenamiento.",
    },
    "report_fig_weights": {"en": "Weights per layer", "es": "Pesos por capa"},
    "report_cap_weights": {
        "en": "Histogram of the final weights wⱼᵢ of each layer (without the biases).",
        "es": "Histograma de los pesos finales wⱼᵢ de cada capa (sin los sesgos).",
    },
    "report_weight": {"en": "weight wⱼᵢ", "es": "peso wⱼᵢ"},
    "report_count": {"en": "count", "es": "frecuencia"},
    "report_saturated_units": {
        "en": "Layer {layer}: {value} of its outputs end training saturated (o in the flat part "
        "of f on the recorded samples). There f′(z) ≈ 0, so those samples hardly change its "
        "weights; if the error is still high, scale the inputs or start from smaller weights.",
        "es": "Capa {layer}: el {value} de sus salidas termina saturado (o en la parte plana de "
        "f en las muestras registradas). Ahí f′(z) ≈ 0, así que esas muestras apenas cambian "
        "sus pesos; si el error sigue alto, escale las entradas o empiece con pesos más "
        "pequeños.",
    },
    "report_dead_units": {
        "en": "Layer {layer}: {value} of its ReLU units end training dead (z ≤ 0 on every "
        "recorded sample): their output and δ are 0, so they no longer learn. Try a smaller "
        "learning rate or leaky_relu.",
        "es": "Capa {layer}: el {value} de sus neuronas ReLU terminan muertas (z ≤ 0 en todas "
        "las muestras registradas): su salida y su δ son 0, así que ya no aprenden. Pruebe una "
        "tasa de aprendizaje menor o leaky_relu.",
    },
    "report_vanishing_delta": {
        "en": "Layer {layer}: its mean |δ| was typically {value} times that of the output layer "
        "(median over the epochs): the gradient vanishes on its way back, so this layer learns "
        "slowly.",
        "es": "Capa {layer}: su media de |δ| fue típicamente {value} veces la de la capa de "
        "salida (mediana sobre las épocas): el gradiente se desvanece hacia atrás, así que esta "
        "capa aprende despacio.",
    },
    "report_exploding_delta": {
        "en": "Layer {layer}: its mean |δ| was typically {value} times that of the output layer "
        "(median over the epochs): the gradient explodes on its way back; try smaller initial "
        "weights or a smaller learning rate.",
        "es": "Capa {layer}: su media de |δ| fue típicamente {value} veces la de la capa de "
        "salida (mediana sobre las épocas): el gradiente explota hacia atrás; pruebe pesos "
        "iniciales más pequeños o una tasa de aprendizaje menor.",
    },
    "report_oscillating_error": {
        "en": "The training error rose in {value} of the {epochs} epochs (each time by more than "
        "1 % of its first value): the learning rate makes it oscillate; try a smaller one.",
        "es": "El error de entrenamiento subió en {value} de las {epochs} épocas (cada vez más "
        "del 1 % de su primer valor): la tasa de aprendizaje lo hace oscilar; pruebe una menor.",
    },
    "report_rising_error": {
        "en": "The training error after the last epoch is {value} times the one after the first: "
        "training made the network worse; the learning rate is probably too large.",
        "es": "El error de entrenamiento después de la última época es {value} veces el de la "
        "primera: el entrenamiento empeoró la red; la tasa de aprendizaje probablemente es "
        "demasiado grande.",
    },
    "report_diagnostics_intro": {
        "en": "Read from the statistics recorded during training and from the error per epoch.",
        "es": "Leído de las estadísticas registradas durante el entrenamiento y del error por "
        "época.",
    },
}
"""Message id → language → template."""


def words(lang: str) -> dict[str, str]:
    """The templates of one language.

    Raises:
        ParameterError: an unknown language (the message lists the valid ones).
    """
    return _one_language(STRINGS, lang)


COMMAND_LINE: dict[str, dict[str, str]] = {
    "training": {"en": "training", "es": "entrenando"},
    "loss": {"en": "loss", "es": "pérdida"},
    "mse": {"en": "MSE", "es": "ECM"},
    "validation": {"en": "validation", "es": "validación"},
    "compiling": {
        "en": "compiling the training kernels for this machine (once: they are cached in "
        "{cache}) …",
        "es": "compilando los núcleos de entrenamiento para esta máquina (una sola vez: se "
        "guardan en {cache}) …",
    },
    "demo_header": {
        "en": "[bold]retroprop demo[/]: 64 → {hidden} → 10 sigmoid, squared error, online "
        "updates, η = {eta}, {epochs} epochs, seed {seed}",
        "es": "[bold]retroprop demo[/]: 64 → {hidden} → 10 sigmoide, error cuadrático, "
        "actualización en línea, η = {eta}, {epochs} épocas, semilla {seed}",
    },
    "demo_epoch": {
        "en": "epoch {epoch:>3}/{epochs}  train MSE {mse:.5f}  validation MSE {val_mse:.5f}  "
        "validation accuracy {val_accuracy:.3f}",
        "es": "época {epoch:>3}/{epochs}  ECM de entrenamiento {mse:.5f}  ECM de validación "
        "{val_mse:.5f}  exactitud de validación {val_accuracy:.3f}",
    },
    "demo_result": {
        "en": "\nTrained on {n_train} images ({n_validation} validation) in {seconds:.1f} s; "
        "kept the weights of epoch {best_epoch} (lowest validation MSE). [bold]Test accuracy: "
        "{accuracy:.3f}[/] on {n_test} unseen images.",
        "es": "\nEntrenada con {n_train} imágenes ({n_validation} de validación) en "
        "{seconds:.1f} s; se conservan los pesos de la época {best_epoch} (menor ECM de "
        "validación). [bold]Exactitud en prueba: {accuracy:.3f}[/] con {n_test} imágenes no "
        "vistas.",
    },
    "demo_confusion": {
        "en": "Confusion matrix (rows: true digit, columns: predicted)",
        "es": "Matriz de confusión (filas: dígito real, columnas: predicho)",
    },
    "demo_curve_title": {"en": "Digits 64-10-5-10, online", "es": "Dígitos 64-10-5-10, en línea"},
    "demo_curve_written": {
        "en": "Learning curve written to {path}",
        "es": "Curva de aprendizaje escrita en {path}",
    },
    "train_rows": {
        "en": "{source}: {n_rows} rows → {n_train} for training, {n_validation} for "
        "validation{test}",
        "es": "{source}: {n_rows} filas → {n_train} para entrenar, {n_validation} para "
        "validar{test}",
    },
    "train_test_rows": {"en": ", {n_test} for test", "es": ", {n_test} para la prueba"},
    "train_features": {
        "en": "features: {n} ({n_cat} categorical, one-hot) → {n_inputs} inputs",
        "es": "columnas: {n} ({n_cat} categóricas, one-hot) → {n_inputs} entradas",
    },
    "train_classification": {
        "en": "task: classification of {name}: {n} classes ({labels})",
        "es": "tarea: clasificación de {name}: {n} clases ({labels})",
    },
    "train_regression": {
        "en": "task: regression of {name} (mean {mean:.4g}, standard deviation {scale:.4g})",
        "es": "tarea: regresión de {name} (media {mean:.4g}, desviación típica {scale:.4g})",
    },
    "train_network": {"en": "network: {network}", "es": "red: {network}"},
    "train_settings": {
        "en": "training: {solver}, η = {eta}, batch size {batch_size}, {epochs} of {max_epochs} "
        "epochs{stop}, seed {seed}{seconds}",
        "es": "entrenamiento: {solver}, η = {eta}, tamaño de lote {batch_size}, {epochs} de "
        "{max_epochs} épocas{stop}, semilla {seed}{seconds}",
    },
    "train_stopped": {
        "en": ", stopped early (best epoch {epoch})",
        "es": ", parada temprana (mejor época {epoch})",
    },
    "train_summary": {"en": "Training summary", "es": "Resumen del entrenamiento"},
    "train": {"en": "train", "es": "entrenamiento"},
    "test": {"en": "test", "es": "prueba"},
    "accuracy": {"en": "accuracy", "es": "exactitud"},
    "model_written": {"en": "Model written to {path}", "es": "Modelo escrito en {path}"},
    "report_written": {"en": "Report written to {path}", "es": "Informe escrito en {path}"},
}
"""The command line's progress and summary lines (``retroprop demo``, ``retroprop train``):
message id → language → template. Error messages stay English."""


def language(choice: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: ``choice`` (a ``--lang`` option) if given, else the
    ``RETROPROP_LANG`` environment variable, else the locale (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``, the first one set, as POSIX reads them: ``es_ES.UTF-8`` is Spanish), else
    English.

    Raises:
        ParameterError: ``choice`` or ``RETROPROP_LANG`` is not a language of :data:`LANGUAGES`.
    """
    env = os.environ if environ is None else environ
    if choice is None and env.get("RETROPROP_LANG"):
        choice = env["RETROPROP_LANG"]
        if choice not in LANGUAGES:
            raise ParameterError(
                f"RETROPROP_LANG={choice!r} is not a language; valid: {', '.join(LANGUAGES)}"
            )
    if choice is not None:
        _one_language({}, choice)  # checks it
        return choice
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return "es" if env[name].lower().startswith("es") else "en"
    return "en"


def command_words(lang: str) -> dict[str, str]:
    """The command line's templates of one language (:data:`COMMAND_LINE`).

    Raises:
        ParameterError: an unknown language.
    """
    return _one_language(COMMAND_LINE, lang)


def _one_language(table: Mapping[str, Mapping[str, str]], lang: str) -> dict[str, str]:
    """``table``'s templates in ``lang``, or a :class:`ParameterError` naming the languages."""
    if lang not in LANGUAGES:
        raise ParameterError(f"unknown language {lang!r}; valid: {', '.join(LANGUAGES)}")
    return {key: text[lang] for key, text in table.items()}
