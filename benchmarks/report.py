"""Plots (PNG) and the markdown summary (README.md) written from results.json."""
from __future__ import annotations

from pathlib import Path


def _ms(s):
    if s is None:
        return "–"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def _med(d, *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k)
    return d


def _x(r):
    return "–" if r is None else f"{r:.2f}×"


# ----- plots -------------------------------------------------------------------------------------
def plots(results, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    if results.get("paths"):
        written.append(_plot_paths(plt, results["paths"], out_dir))
    if results.get("scalar_dag") or results.get("depth"):
        written.append(_plot_scalar(plt, results, out_dir))
    if results.get("mlp"):
        written.append(_plot_mlp(plt, results["mlp"], out_dir))
    return [p for p in written if p]


def _save(plt, fig, out_dir, name):
    """Write the figure as out_dir/name and return the file's name."""
    fig.tight_layout()
    fig.savefig(Path(out_dir) / name, dpi=110)
    plt.close(fig)
    return name


def _plot_paths(plt, races, out_dir):
    fig, axes = plt.subplots(1, len(races), figsize=(6.2 * len(races), 4.6), squeeze=False)
    for ax, race in zip(axes[0], races):
        rows = race["rows"]
        for key, label, style in (("path_sum", "path_sum (one product per path)", "o-"),
                                  ("dp_backward", "dp_backward (each edge once)", "s-"),
                                  ("backward", "engine backward()", "^-")):
            pts = [(r["L"], r[key]["median"]) for r in rows if r.get(key)]
            if pts:
                ax.plot(*zip(*pts), style, label=label, markersize=4)
        ps = [(r["L"], r["path_sum"]["median"]) for r in rows if r.get("path_sum")]
        dp = [(r["L"], r["dp_backward"]["median"]) for r in rows if r.get("dp_backward")]
        if ps:  # reference slopes through the last measured point of each curve
            L0, t0 = ps[-1]
            Ls = [L for L, _ in ps]
            ax.plot(Ls, [t0 * 2.0 ** (L - L0) for L in Ls], "k:", label="∝ 2^L")
        if dp:
            L0, t0 = dp[-1]
            Ls = [L for L, _ in dp]
            ax.plot(Ls, [t0 * L / L0 for L in Ls], "k--", label="∝ L")
        if race.get("crossover_L"):
            ax.axvline(race["crossover_L"], color="grey", lw=0.8)
            ax.annotate(f"path sum slower from L = {race['crossover_L']}",
                        (race["crossover_L"], ax.get_ylim()[1]), fontsize=8, va="top",
                        xytext=(4, -4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("depth L (layers; 2^L paths from x to o)")
        ax.set_ylabel("seconds (median)")
        ax.set_title(f"{race['graph']}: sum over paths vs dynamic programming")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    return _save(plt, fig, out_dir, "paths_vs_dp.png")


def _plot_scalar(plt, results, out_dir):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4))
    dag = results.get("scalar_dag")
    if dag:
        libs = [lib for lib in ("bpkit", "micrograd") if dag["libraries"].get(lib)]
        build = [dag["libraries"][lib]["build"]["median"] * 1e3 for lib in libs]
        back = [dag["libraries"][lib]["backward"]["median"] * 1e3 for lib in libs]
        a1.bar(libs, build, label="build")
        a1.bar(libs, back, bottom=build, label="backward")
        a1.set_ylabel("ms (median)")
        a1.set_title(f"random scalar DAG, {dag['n_nodes']:,} vertices (+, *, tanh)")
        a1.legend()
    depth = results.get("depth")
    if depth:
        for lib, style in (("bpkit", "o-"), ("micrograd", "s-")):
            pts = [(r["n_ops"], r[lib]["seconds_per_node"] * 1e6) for r in depth
                   if r.get(lib) and r[lib].get("seconds_per_node")]
            if pts:
                a2.plot(*zip(*pts), style, label=f"{lib} (build + backward)")
        fails = [r["n_ops"] for r in depth if r.get("micrograd") and r["micrograd"].get("error")]
        if fails:
            a2.axvline(min(fails), color="red", lw=0.8)
            a2.annotate("micrograd: RecursionError", (min(fails), a2.get_ylim()[1]), color="red",
                        fontsize=8, va="top", xytext=(4, -4), textcoords="offset points")
        a2.set_xscale("log")
        a2.set_xlabel("chain length (ops)")
        a2.set_ylabel("µs per vertex (median)")
        a2.set_title("deep chains")
        a2.grid(True, alpha=0.3)
        a2.legend(fontsize=8)
    return _save(plt, fig, out_dir, "scalar.png")


def _plot_mlp(plt, mlp, out_dir):
    fig, axes = plt.subplots(1, len(mlp), figsize=(5.5 * len(mlp), 4.2), squeeze=False)
    for ax, run in zip(axes[0], mlp):
        names = list(run["implementations"])
        ratios = [run["ratio_over_numpy"][n] for n in names]
        ax.bar(names, ratios, color=["grey" if n.startswith("numpy") else "C0" for n in names])
        if run["batch"] == 256:  # the targets (issue 9) are set at batch 256
            ax.axhline(1.05, color="red", lw=0.8, ls="--", label="target for graph 1.05×")
            ax.axhline(1.10, color="darkred", lw=0.8, ls=":", label="target for layers 1.10×")
        ax.set_ylabel("time / hand-written NumPy (median)")
        ax.set_title(f"MLP 784-512-512-10, batch {run['batch']}, forward+backward")
        for i, r in enumerate(ratios):
            ax.annotate(f"{r:.2f}×", (i, r), ha="center", va="bottom", fontsize=8)
        if run["batch"] == 256:
            ax.legend(fontsize=8)
    return _save(plt, fig, out_dir, "mlp.png")


# ----- markdown ----------------------------------------------------------------------------------
def markdown(results):
    m = results["machine"]
    lines = ["# bpkit benchmarks", "",
             f"Generated by `{results['command']}` on {results['started_utc']} "
             f"({results['seconds_total']:.0f} s{', quick mode' if results['quick'] else ''}). "
             "Raw numbers: [results.json](results.json).", "",
             "Every time is the median of several repetitions taken in one process; the "
             "implementations being compared run interleaved (the order rotates each round), so "
             "a ratio compares runs made under the same load. This machine is shared (2 cores, "
             f"load average {', '.join(f'{x:.1f}' for x in m['load_average_at_start'] or [])} at "
             "the start), so absolute times are noisy; ratios are the numbers to read. "
             "“per round” is the median of the per-round ratios.", ""]
    for u in results.get("updates", []):
        lines += [f"Sections {', '.join(u['sections'])} were measured again by `{u['command']}` "
                  f"on {u['started_utc']}.", ""]
    lines += _machine(results)
    if results.get("scalar_dag"):
        lines += _scalar_section(results["scalar_dag"], results.get("scalar_dag_no_gc"))
        lines += _scalar_sizes(results)
    if results.get("depth"):
        lines += _depth_section(results)
    if results.get("mlp"):
        lines += _mlp_section(results["mlp"], results.get("mlp_kept_memory"))
    if results.get("paths"):
        lines += _paths_section(results["paths"])
    lines += _notebooks_section(results.get("notebooks"))
    lines += _autograde_section(results.get("autograde"))
    if results.get("targets"):
        lines += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
        for t in results["targets"]:
            met = ("yes, " + t["only"] + " only" if t.get("only") else "yes") if t["met"] else "**no**"
            lines.append(f"| {t['target']} | {t['measured']} | {met} |")
        lines.append("")
        for t in results["targets"]:
            if t.get("why"):
                lines += [f"- {t['target']}: {t['why']}"]
        lines.append("")
    return "\n".join(lines) + "\n"


def _machine(results):
    m = results["machine"]
    blas = m.get("blas") or []
    blas_txt = "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']} kernel, "
                         f"{b['num_threads']} threads available)" for b in blas) or "unknown"
    out = ["## Machine", "",
           f"- {m['platform']}, {m['cpu']}, {m['nproc']} cores (nproc), Python {m['python']}",
           f"- NumPy {m['numpy']}; BLAS: {blas_txt}",
           f"- threads used by BLAS and PyTorch in the measurements: {results['threads']}",
           f"- OPENBLAS_CORETYPE={m['env']['OPENBLAS_CORETYPE']}, "
           f"OPENBLAS_L2_SIZE={m['env']['OPENBLAS_L2_SIZE']}"]
    if results.get("torch"):
        out.append(f"- PyTorch {results['torch']['version']} (CPU)")
    out.append("")
    return out


def _scalar_rows(d, title):
    out = [f"| **{title}** | | | | | |"]
    for lib, s in d["libraries"].items():
        if s:
            out.append(f"| {lib} | {_ms(s['build']['median'])} | {_ms(s['backward']['median'])} | "
                       f"{_ms(s['build_plus_backward']['median'])} | {s['build_nodes_per_s']:,.0f} | "
                       f"{s['backward_nodes_per_s']:,.0f} |")
    r = d.get("ratio_bpkit_over_micrograd")
    if r:
        out.append(f"| bpkit / micrograd | {_x(r['build'])} | {_x(r['backward'])} | "
                   f"**{_x(r['build_plus_backward'])}** (per round {_x(r['per_round_median'])}) | | |")
    return out


def _scalar_sizes(results):
    rows = [(results["scalar_dag"], results.get("scalar_dag_no_gc"))]
    rows += [(r["on"], r["off"]) for r in results.get("scalar_dag_sizes") or []]
    rows = [r for r in rows if r[0].get("ratio_bpkit_over_micrograd")]
    if len(rows) < 2:
        return []
    out = ["bpkit / micrograd (build + backward, medians) by the size of the random DAG:", "",
           "| ops | rounds | collector on | collector off | bpkit µs/vertex (on, off) | "
           "micrograd µs/vertex (on, off) |", "|---|---|---|---|---|---|"]
    for on, off in sorted(rows, key=lambda r: r[0]["n_ops"]):
        def per_vertex(lib):
            return ", ".join(f"{d['libraries'][lib]['build_plus_backward']['median'] / d['n_nodes'] * 1e6:.2f}"
                             for d in (on, off) if d)
        out.append(f"| {on['n_ops']:,} | {on['repeats']} | {_x(on['ratio_bpkit_over_micrograd']['build_plus_backward'])} | "
                   f"{_x(off['ratio_bpkit_over_micrograd']['build_plus_backward']) if off else '–'} | "
                   f"{per_vertex('bpkit')} | {per_vertex('micrograd')} |")
    out.append("")
    return out


def _scalar_section(d, no_gc=None):
    diff = d.get("max_abs_difference_of_leaf_gradients")
    out = ["## Scalar graphs: bpkit vs micrograd", "",
           f"The same random DAG ({d['n_ops']:,} ops: +, * and tanh, {d['n_leaves']} leaves, "
           f"{d['n_nodes']:,} vertices) built through each library's API, then `backward()` from "
           f"its output; {d['repeats']} interleaved rounds. micrograd 0.1.0 has no tanh: the "
           "benchmark adds one in micrograd's closure style (`benchmarks/scalar.py: mg_tanh`)."
           + (f" Largest difference between the two libraries' leaf gradients: {diff:.1e}."
              if diff is not None else ""), "",
           "The first rows run as a student's Python does, with the cyclic garbage collector on. "
           "micrograd's closures make reference cycles (each vertex holds its `_backward`, which "
           "holds the vertex), and it allocates more tracked objects per vertex (a set, a "
           "closure, its cells), so the collections that its allocations trigger weigh on it as "
           "the graph grows. The second rows switch the collector off during each round, as "
           "`timeit` does: that measures each library's own work.", "",
           "| | build | backward | build + backward | build vertices/s | backward vertices/s |",
           "|---|---|---|---|---|---|"]
    out += _scalar_rows(d, "collector on (default)")
    if no_gc:
        out += _scalar_rows(no_gc, "collector off")
    out += ["", "![scalar graphs](scalar.png)", ""]
    return out


def _depth_section(results):
    rows = results["depth"]
    limit = results.get("micrograd_recursion_error_from")
    out = ["## Depth: chains of n ops (tanh and × in turn)", "",
           f"Python's recursion limit stays at its default ({rows[0]['recursion_limit']}). "
           + (f"micrograd's backward (a recursive depth-first search) raises RecursionError for "
              f"every chain of {limit} ops or more (found by bisection). " if limit else "")
           + "bpkit's traversal is iterative. Per-vertex times grow with the chain because "
           "Python's cyclic garbage collector, triggered by the allocations, scans every live "
           "vertex in its full collections.", "",
           "| n ops | bpkit build | bpkit backward | bpkit µs/vertex | micrograd build | "
           "micrograd backward | micrograd µs/vertex |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r['n_ops']:,}"]
        for lib in ("bpkit", "micrograd"):
            s = r.get(lib) or {}
            cells.append(_ms(_med(s, "build", "median")))
            if s.get("seconds_per_node"):
                cells += [_ms(_med(s, "backward", "median")), f"{s['seconds_per_node'] * 1e6:.2f}"]
            else:
                cells += [(s.get("error") or s.get("note") or "–").split(":")[0], "–"]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return out


def _mlp_section(runs, kept=None):
    out = ["## Vector networks: MLP 784-512-512-10 vs hand-written NumPy", "",
           "ReLU, log-softmax + NLL summed over the batch, forward + backward, float64. "
           "`graph`: bpkit's graph engine (`bp.var`, `@`, `bp.relu`, `bp.log_softmax`, indexing, "
           "`bp.sum`, `backward()`); `layers`: `bpkit.layers` (Linear, ReLU, LogSoftmax, NLL); "
           "`numpy`: written out by hand (fused softmax − one-hot gradient, no gradient for the "
           "input images); `numpy+dX`: the same plus the gradient for the input images, which "
           "`bpkit.layers` computes too (each layer's backward returns it, as in Table 11.1); "
           "`numpy-kept`: `numpy`'s arithmetic with every intermediate array kept to the end of "
           "the step, as the graph engine keeps each vertex's value and gradient; "
           "`torch`: PyTorch autograd on the CPU, float64. All give the same loss and gradients "
           "(largest difference listed).", "",
           "| batch | implementation | median | / numpy | / numpy per round | min | / numpy (min) "
           "| max abs diff |", "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        base_min = run["implementations"]["numpy"]["min"]
        for name, s in run["implementations"].items():
            out.append(f"| {run['batch']} | {name} | {_ms(s['median'])} | "
                       f"{_x(run['ratio_over_numpy'][name])} | "
                       f"{_x(run['ratio_over_numpy_per_round_median'][name])} | "
                       f"{_ms(s['min'])} | {_x(s['min'] / base_min)} | "
                       f"{run['max_abs_difference_from_numpy'][name]:.1e} |")
    if kept:
        base = kept["implementations"]["numpy"]
        out += ["", f"The same at batch {kept['batch']} in a fresh Python whose allocator keeps "
                "freed memory (" + ", ".join(f"`{k}={v}`" for k, v in kept["allocator"].items())
                + "): without the page faults of memory handed back and taken again each step.",
                "", "| batch | implementation | median | / numpy | / numpy per round | min | "
                "/ numpy (min) |", "|---|---|---|---|---|---|---|"]
        for name, s in kept["implementations"].items():
            out.append(f"| {kept['batch']} | {name} | {_ms(s['median'])} | "
                       f"{_x(kept['ratio_over_numpy'][name])} | "
                       f"{_x(kept['ratio_over_numpy_per_round_median'][name])} | "
                       f"{_ms(s['min'])} | {_x(s['min'] / base['min'])} |")
    out += ["", "![MLP](mlp.png)", ""]
    return out


def _paths_section(races):
    out = ["## Sum over paths vs dynamic programming", "",
           "`bpkit.paths.path_sum` enumerates every path from x to the output and multiplies the "
           "local derivatives along each (2^L paths at depth L); `dp_backward` visits every edge "
           "once; `backward()` is the engine's own backward pass. Path enumeration stops growing L "
           "once one evaluation takes longer than "
           f"{races[0]['path_sum_limit_seconds']:g} s.", "",
           "![path sum vs DP](paths_vs_dp.png)", ""]
    for race in races:
        out += [f"### {race['graph']}", "",
                f"Crossover: path_sum is slower than dp_backward from L = {race['crossover_L']} on."
                if race.get("crossover_L") else "No crossover measured.", "",
                "| L | paths | path_sum | dp_backward | backward() | path_sum / dp | same value |",
                "|---|---|---|---|---|---|---|"]
        for r in race["rows"]:
            ps, dp = _med(r, "path_sum", "median"), _med(r, "dp_backward", "median")
            if ps is None and dp is None:
                continue
            same = r.get("path_sum_matches_dp")
            out.append(f"| {r['L']:,} | 2^{r['log2_paths']:.0f} | {_ms(ps)} | {_ms(dp)} | "
                       f"{_ms(_med(r, 'backward', 'median'))} | "
                       f"{'–' if ps is None or dp is None else f'{ps / dp:,.3g}×'} | "
                       f"{'–' if same is None else 'yes' if same else '**no**'} |")
        out.append("")
    return out


def _notebooks_section(nb):
    out = ["## Solution notebooks", ""]
    if not nb or not nb.get("notebooks"):
        out += [f"Not measured: {(nb or {}).get('note', 'skipped')}.", ""]
        return out
    out += ["Each notebook runs top to bottom in a fresh kernel (nbclient), importing the bpkit of "
            "the repository it belongs to.", "",
            "| notebook | repository | seconds | cells | error |", "|---|---|---|---|---|"]
    for r in nb["notebooks"]:
        out.append(f"| {r['notebook']} | {r.get('repository', '')} | {r['seconds']:.1f} | "
                   f"{r['cells']} | {r['error'] or ''} |")
    out.append("")
    return out


def _autograde_section(ag):
    out = ["## Autograding", ""]
    if not ag or not ag.get("rows"):
        out += [f"Not measured here: {(ag or {}).get('note', 'skipped')}. See "
                "`benchmarks/autograde.py` for the files it reads.", ""]
        return out
    keys = []
    for row in ag["rows"]:
        keys += [k for k in row if k not in keys]
    out += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in ag["rows"]:
        out.append("| " + " | ".join(str(row.get(k, "")) for k in keys) + " |")
    out.append("")
    return out


def write(results, out_dir):
    out_dir = Path(out_dir)
    results["plots"] = plots(results, out_dir)
    (out_dir / "README.md").write_text(markdown(results))
