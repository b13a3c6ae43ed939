"""The Markdown tables of a run's results (the dictionary written to results.json)."""

from __future__ import annotations

from typing import Any

from _common import Row


def fmt_time(s: Row | None) -> str:
    if not s:
        return "—"

    def one(x: float) -> str:
        return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"

    return f"{one(s['median'])} ({one(s['min'])}–{one(s['max'])})"


def fmt_ratio(v: Row | None, key: str = "of_medians") -> str:
    """The ratio of medians, and in parentheses the median of the per-round ratios."""
    if not v:
        return "—"
    if key != "of_medians":
        return f"{v[key]:.3g}×"
    return f"{v['of_medians']:.3g}× ({v['median_of_rounds']:.3g}×)"


def w1_table(results: dict[str, Any]) -> list[str]:
    rows = results["w1"]
    lines = [
        f"### W1 online (per epoch of 1,437 samples; test accuracy after the epochs below; "
        f"{results['rounds']} interleaved rounds)",
        "",
        "| case | retroprop fit, running error | FANN | vs FANN | vs FANN (min) | fit, final "
        "error | its vs FANN | MLPClassifier | its vs FANN | scikit-learn | vs sklearn | "
        "PyTorch | vs PyTorch | NumPy ref. | accuracy r/F/s/P/f/e |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        keys = ("retroprop", "fann", "sklearn", "torch", "retroprop_final", "retroprop_estimator")
        got = {k: r.get(k) or {} for k in keys}
        acc = "/".join(f"{got[k]['accuracy']:.3f}" if got[k] else "—" for k in keys)
        vs = r["vs"]
        lines.append(
            f"| {r['case']} | {fmt_time(got['retroprop'].get('epoch'))} | "
            f"{fmt_time(got['fann'].get('epoch'))} | {fmt_ratio(vs['fann'])} | "
            f"{fmt_ratio(vs['fann'], 'of_mins')} | "
            f"{fmt_time(got['retroprop_final'].get('epoch'))} | "
            f"{fmt_ratio(vs.get('final_vs_fann'))} | "
            f"{fmt_time(got['retroprop_estimator'].get('epoch'))} | "
            f"{fmt_ratio(vs.get('estimator_vs_fann'))} | "
            f"{fmt_time(got['sklearn'].get('epoch'))} | {fmt_ratio(vs['sklearn'])} | "
            f"{fmt_time(got['torch'].get('epoch'))} | {fmt_ratio(vs['torch'])} | "
            f"{fmt_time(r['retroprop_numpy']['epoch'])} | {acc} |"
        )
    epochs = {p: (rows[0].get(p) or {}).get("epochs", "—") for p in ("fann", "sklearn", "torch")}
    epochs |= {p: rows[0][p]["epochs"] for p in ("retroprop", "retroprop_numpy")}
    return [
        *lines,
        "",
        "Medians (min–max) over every epoch of every round; in each round every contender "
        "trains its share of the epochs on its one model, in an order rotated each round. "
        "Ratios: the peer's median ÷ retroprop's, in parentheses the median of the per-round "
        "ratios (robust to a slow window that hits one contender's turn); (min): ratio of the "
        'fastest epochs. retroprop: `retroprop.fit(..., train_error="running")`, whose '
        "training error per epoch is the running mean over the samples before their updates, "
        "as FANN's MSE (the same work per epoch); fit, final error: `fit`'s default, which "
        "also evaluates the whole training set with the epoch's final weights (one more "
        "forward pass per epoch). Epochs in all: retroprop "
        f"{epochs['retroprop']} each, FANN {epochs['fann']}, scikit-learn {epochs['sklearn']} "
        f"and PyTorch {epochs['torch']} (their accuracy is after these), NumPy reference "
        f"{epochs['retroprop_numpy']} (timing only). e: `retroprop.MLPClassifier` with "
        'scikit-learn\'s settings and `engine="numba"`, one warm-started `fit` per round, '
        f"{(rows[0].get('retroprop_estimator') or {}).get('epochs', '—')} epochs (the first "
        "epoch of each round includes `fit`'s input validation; each fit restarts the sample "
        "order from `random_state`); its loss per epoch is scikit-learn's running mean.",
        "",
    ]


def w2_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "### W2 mini-batch (784-256-128-10 float32, batch 128, 60,000 samples; per epoch; "
        f"{results['rounds']} interleaved rounds)",
        "",
        "| threads | retroprop fit(), running error | fit(), final error | "
        "scikit-learn | PyTorch | vs PyTorch | vs sklearn | % of peak r/s/P | GEMM peak | "
        "% of median GEMM r/s/P | median GEMM |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    measured = []
    for r in results["w2"]:
        ours, fit, sk, th = (
            r.get(k) or {} for k in ("retroprop", "retroprop_fit", "sklearn", "torch")
        )
        pk = "/".join(f"{100 * x['peak_fraction']:.0f}%" if x else "—" for x in (ours, sk, th))
        pm = "/".join(
            f"{100 * x['gemm_median_fraction']:.0f}%" if x else "—" for x in (ours, sk, th)
        )
        g = r["gemm_peak"]
        lines.append(
            f"| {r['threads']} | {fmt_time(ours['epoch'])} | {fmt_time(fit['epoch'])} | "
            f"{fmt_time(sk['epoch'])} | {fmt_time(th.get('epoch'))} | "
            f"{fmt_ratio(r['vs']['torch'])} | {fmt_ratio(r['vs']['sklearn'])} | {pk} | "
            f"{g['gflops']:.0f} GFLOP/s ({g['library']}) | {pm} | {g['median']:.0f} GFLOP/s |"
        )
        each = ", ".join(
            f"{lib} {' then '.join(f'{v:.0f}' for v in vs)}" for lib, vs in g["measured"].items()
        )
        measured.append(f"{r['threads']}: {each}")
    return [
        *lines,
        "",
        "One epoch per contender and round, each on its own model, order rotated each round. "
        "Ratios as in W1: PyTorch's (scikit-learn's) median ÷ retroprop's "
        '(`fit(..., train_error="running")`, the training loss as the running mean over '
        "the batches, as the peers report it), in parentheses the median of the per-round "
        "ratios. % of peak: the epoch's floating-point work (final error: plus its "
        "evaluation of the training set) over the machine's best float32 "
        "GEMM (2048 × 2048) of NumPy's BLAS and PyTorch's, measured before and after W2 "
        f"(GFLOP/s; {'; '.join(measured)}): a best moment set against a median epoch. % of "
        "median GEMM: the same work over the median speed of that library's 2048 × 2048 GEMM "
        "timed call by call side by side with the epochs (3 calls a round): median against "
        "median, under the same slow windows.",
        "",
    ]


def w3_table(results: dict[str, Any]) -> list[str]:
    lines = [
        f"### W3 inference (W2 network, 60,000 samples; {results['rounds']} interleaved rounds)",
        "",
        "| threads | engine | time | predictions/s | vs PyTorch |",
        "|---|---|---|---|---|",
    ]
    for r in results["w3"]:
        for name, x in r.items():
            if name != "threads":
                lines.append(
                    f"| {r['threads']} | {name} | {fmt_time(x['call'])} | "
                    f"{60_000 / x['call']['median']:,.0f} | {fmt_ratio(x['vs_torch'])} |"
                )
    return [
        *lines,
        "",
        "One prediction of the 60,000 samples per engine and round, on the models W2 trained, "
        "order rotated each round. vs PyTorch: PyTorch's median ÷ this engine's, in "
        "parentheses the median of the per-round ratios.",
        "",
    ]


def w5_table(results: dict[str, Any]) -> list[str]:
    w5 = results["w5"]
    lines = [f"### W5 the drop-in: MLPClassifier ({results['rounds']} interleaved rounds)", ""]
    if "epochs" in w5:
        lines += [
            f"Seconds per epoch, BLAS threads: {w5.get('epochs_threads', 'default')}",
            "",
            "| data (rows) | solver | dtype | batch_size | retroprop per epoch | scikit-learn | "
            "vs scikit-learn |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in w5["epochs"]:
            lines.append(
                f"| {r['data']} ({r['rows']:,}) | {r['solver']} | {r['dtype']} | "
                f"{r['batch_size']} | {fmt_time(r['retroprop']['epoch'])} | "
                f"{fmt_time(r['sklearn']['epoch'])} | {fmt_ratio(r['vs'])} |"
            )
        lines.append("")
    if "partial_fit" in w5:
        lines += [
            "| partial_fit, 100 digits rows | retroprop | scikit-learn | vs |",
            "|---|---|---|---|",
        ]
        for solver, r in w5["partial_fit"].items():
            lines.append(
                f"| {solver} | {fmt_time(r['retroprop']['call'])} | "
                f"{fmt_time(r['sklearn']['call'])} | {fmt_ratio(r['vs'])} |"
            )
        lines.append("")
    if "predict" in w5:
        lines += [
            "| W2 predictions, 60,000 rows | MLPClassifier.predict_proba | Network.predict | "
            "scikit-learn | vs (estimator) | vs (Network) |",
            "|---|---|---|---|---|---|",
        ]
        for r in w5["predict"]:
            lines.append(
                f"| {r['threads']} | {fmt_time(r['retroprop']['call'])} | "
                f"{fmt_time(r['network']['call'])} | {fmt_time(r['sklearn']['call'])} | "
                f"{fmt_ratio(r['vs']['retroprop'])} | {fmt_ratio(r['vs']['network'])} |"
            )
        lines.append("")
    return lines


def w4_table(results: dict[str, Any]) -> list[str]:
    lines = [
        f"### W4 full batch vs FANN 2.2 (per epoch; test error after the epochs; "
        f"{results['rounds']} interleaved rounds)",
        "",
        "| data set | network | n | rule | retroprop fit | FANN fann_train_epoch | vs FANN | "
        "vs FANN (min) | test error % r / F | test MSE r / F |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["w4"]:
        ours, fann = r["retroprop"], r.get("fann") or {}
        err = f"{ours['test_error_pct']:.1f} / " + (
            f"{fann['test_error_pct']:.1f}" if fann else "—"
        )
        mse = f"{ours['test_mse']:.4f} / " + (f"{fann['test_mse']:.4f}" if fann else "—")
        lines.append(
            f"| {r['set']} | {'-'.join(map(str, r['sizes']))} | {r['n_train']:,} | {r['rule']} | "
            f"{fmt_time(ours['epoch'])} | {fmt_time(fann.get('epoch'))} | "
            f"{fmt_ratio(r['vs_fann'])} | {fmt_ratio(r['vs_fann'], 'of_mins')} | {err} | {mse} |"
        )
    return [*lines, ""]


def report(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [f"## retroprop benchmarks ({machine['cpu']}, load {machine['load_before']})", ""]
    if "w1" in results:
        lines += w1_table(results)
    if "w2" in results:
        lines += w2_table(results)
    if "w3" in results:
        lines += w3_table(results)
    if "w4" in results:
        lines += w4_table(results)
    if "w5" in results:
        lines += w5_table(results)
    if "memory" in results:
        m = results["memory"]
        lines += [
            f"### Memory: W2 training peak RSS {m['peak_rss_mb']:.0f} MB = training data "
            f"{m['data_mb']:.0f} MB + {m['over_data_mb']:.0f} MB (interpreter, NumPy, "
            f"numba and BLAS included; RSS before fit {m['rss_before_fit_mb']:.0f} MB)",
            "",
        ]
    if "scaling" in results:
        sc = results["scaling"]
        lines += [
            "### Scaling (online SGD, samples/s)",
            "",
            "| 64-H-10, H = | " + " | ".join(str(r["hidden"]) for r in sc["by_width"]) + " |",
            "|---" * (len(sc["by_width"]) + 1) + "|",
            "| samples/s | "
            + " | ".join(f"{r['samples_per_second']:,.0f}" for r in sc["by_width"])
            + " |",
            "",
            "| 64-10-5-10, n = | "
            + " | ".join(f"{r['samples']:,}" for r in sc["by_samples"])
            + " |",
            "|---" * (len(sc["by_samples"]) + 1) + "|",
            "| samples/s | "
            + " | ".join(f"{r['samples_per_second']:,.0f}" for r in sc["by_samples"])
            + " |",
            "",
        ]
    if "compile" in results:
        c = results["compile"]
        cold, warm = c["cold"], c["warm"]
        lines += [
            "### Compile (first epoch, new process; cold caches → warm caches)",
            "",
            f"- online, generic kernels (compiled once per machine): "
            f"{cold['online_first_epoch']:.1f} s → {warm['online_first_epoch']:.2f} s",
            f"- the kernel generated for the architecture, compiled in the background while the "
            f"generic ones train: {cold['generated_in_background']:.1f} s "
            f"(nobody waits for it)",
            f"- mini-batch: {cold['minibatch_first_epoch']:.2f} s → "
            f"{warm['minibatch_first_epoch']:.2f} s",
            f"- an architecture never seen before: {cold['new_architecture_first_epoch']:.2f} s "
            f"→ {warm['new_architecture_first_epoch']:.2f} s",
            "",
        ]
    return "\n".join(lines)
