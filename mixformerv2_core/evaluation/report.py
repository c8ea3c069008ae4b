"""Score result sets against a benchmark and report them side by side: tables, PNG curves, attributes.

Any tracker's raw results can take part as long as there is one ``x,y,w,h`` file per sequence (comma, tab
or space separated) in one of the layouts :func:`results.find_result_file` knows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import metrics as M
from .datasets import BenchmarkSequence
from ..results_io import read_boxes
from .results import find_repetitions


@dataclass
class Scores:
    """One result set on one benchmark: OPE numbers or GOT-10k numbers, plus per-sequence errors."""

    name: str
    ope: M.OPEResult | None = None
    got10k: M.GOT10kResult | None = None
    errors: dict[str, M.SequenceErrors] | None = None

    def summary(self) -> dict[str, float]:
        out = {}
        if self.ope is not None:
            out.update(self.ope.summary())
        if self.got10k is not None:
            out.update(self.got10k.summary())
        return out


def score_boxes(sequences: Sequence[BenchmarkSequence], predictions: Mapping[str, np.ndarray | list[np.ndarray]], name: str = "",
                official_rounding: bool = False) -> Scores:
    """Score predictions (``sequence name -> (N, 4) boxes``, or a list of repetitions) with each sequence's own
    protocol. GOT-10k pools the frames of all repetitions as its toolkit does; OPE scores the first.
    ``official_rounding``: OPE IoU unclipped, as pytracking computes it.
    """
    if not sequences:
        raise ValueError("no sequences to score")
    unscorable = [s.name for s in sequences if not s.fully_annotated]
    if unscorable:
        raise ValueError(
            f"{len(unscorable)} sequences have no full ground truth (e.g. {unscorable[0]}): test sets of "
            "GOT-10k and TrackingNet are scored by their servers; upload the submission zip instead"
        )
    missing = [s.name for s in sequences if s.name not in predictions]
    if missing:
        raise ValueError(f"no results for {len(missing)} sequences, e.g. {missing[0]}")
    got10k = all(s.protocol == "got10k" for s in sequences)
    per_seq = {}
    for s in sequences:
        try:
            reps = predictions[s.name] if isinstance(predictions[s.name], list) else [predictions[s.name]]
            if got10k:
                per_seq[s.name] = np.concatenate(
                    [M.got10k_sequence_ious(r, s.ground_truth, s.visible, s.image_size) for r in reps])
            else:
                protocol = s.protocol if s.protocol != "got10k" else "ope"
                per_seq[s.name] = M.sequence_errors(reps[0], s.ground_truth, protocol, s.visible, s.name,
                                                    clip_iou=not official_rounding)
        except ValueError as exc:
            raise ValueError(f"{name}, sequence {s.name}: {exc}") from None
    if got10k:
        return Scores(name, got10k=M.got10k_result(per_seq))
    return Scores(name, ope=M.ope_result(per_seq.values()), errors=per_seq)


def score_results(sequences: Sequence[BenchmarkSequence], result_dir: str | Path, name: str | None = None,
                  official_rounding: bool = False) -> Scores:
    """Load a result directory (ours or another tracker's raw results) and score it."""
    result_dir = Path(result_dir)
    preds = {}
    for s in sequences:
        files = find_repetitions(result_dir, s.name, s.aliases)
        if files:
            preds[s.name] = [read_boxes(f) for f in files]
    return score_boxes(sequences, preds, name or result_dir.name, official_rounding)


def attribute_scores(sequences: Sequence[BenchmarkSequence], scores: Scores) -> dict[str, M.OPEResult]:
    """OPE numbers over the sequences that carry each attribute (LaSOT, UAV123, OTB)."""
    if scores.errors is None:
        return {}
    by_attr: dict[str, list[M.SequenceErrors]] = {}
    for s in sequences:
        for attr in s.attributes:
            by_attr.setdefault(attr, []).append(scores.errors[s.name])
    return {attr: M.ope_result(errs) for attr, errs in sorted(by_attr.items())}


# ---------------------------------------------------------------------------------------------- output


def markdown_table(rows: Mapping[str, Mapping[str, float]], columns: Sequence[str] | None = None) -> str:
    """A Markdown table with one row per result set and numbers to one decimal."""
    columns = list(columns or dict.fromkeys(k for r in rows.values() for k in r))
    lines = ["| tracker | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        cells = [f"{row[c]:.1f}" if c in row and np.isfinite(row[c]) else "–" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: Every figure is written in each of these formats (PNG for report.md, PDF / SVG for papers).
FIGURE_FORMATS = ("png", "pdf", "svg")
_LINE_STYLES = ("-", "--", "-.", ":")


def line_styles(count: int) -> list[tuple[str, str]]:
    """``(colour, line style)`` for ``count`` curves: the ten tab10 colours with a solid line, then the same
    colours dashed, dash-dotted, dotted; pairs repeat only after 40 curves.
    """
    colors = [f"C{i}" for i in range(10)]
    return [(colors[i % 10], _LINE_STYLES[(i // 10) % len(_LINE_STYLES)]) for i in range(count)]


def _figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], xlabel: str, ylabel: str, title: str,
            legend_fmt: str):
    """The plot, best curve first; the legend sits right of the axes so it never covers a curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranked = sorted(curves.items(), key=lambda kv: -kv[1][2])
    fig, ax = plt.subplots(figsize=(6 + 1.8 * (1 + len(ranked) // 20), 4.5), dpi=100)
    for (name, (x, y, value)), (color, style) in zip(ranked, line_styles(len(ranked))):
        ax.plot(x, 100 * y, color=color, linestyle=style, linewidth=2,
                label=legend_fmt.format(name=name, value=value))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8,
              ncol=1 + len(ranked) // 20)
    fig.tight_layout()
    return fig


def _plot(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], xlabel: str, ylabel: str, title: str,
          path: Path, legend_fmt: str) -> Path:
    """Write the figure as ``path`` (PNG) and its PDF / SVG siblings; returns the PNG path."""
    import matplotlib.pyplot as plt

    fig = _figure(curves, xlabel, ylabel, title, legend_fmt)
    for fmt in FIGURE_FORMATS:
        fig.savefig(path.with_suffix(f".{fmt}"), bbox_inches="tight")
    plt.close(fig)
    return path


def plot_scores(all_scores: Sequence[Scores], out_dir: Path, title: str, prefix: str = "") -> list[Path]:
    """Success, precision and normalized-precision PNGs (OPE), or the success plot with AO (GOT-10k)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    ope = {s.name: s.ope for s in all_scores if s.ope is not None}
    if ope:
        paths.append(_plot({n: (M.IOU_THRESHOLDS, r.success, r.auc) for n, r in ope.items()},
                           "Overlap threshold", "Success rate (%)", f"Success plot — {title}",
                           out_dir / f"{prefix}success.png", "{name} [AUC {value:.1f}]"))
        paths.append(_plot({n: (M.CENTER_THRESHOLDS, r.precision_curve, r.precision) for n, r in ope.items()},
                           "Location error threshold (px)", "Precision (%)", f"Precision plot — {title}",
                           out_dir / f"{prefix}precision.png", "{name} [P@20 {value:.1f}]"))
        paths.append(_plot({n: (M.NORM_CENTER_THRESHOLDS, r.norm_precision_curve, r.norm_precision)
                            for n, r in ope.items()},
                           "Normalized location error threshold", "Normalized precision (%)",
                           f"Normalized precision plot — {title}", out_dir / f"{prefix}norm_precision.png",
                           "{name} [P_norm@0.2 {value:.1f}]"))
    got = {s.name: s.got10k for s in all_scores if s.got10k is not None}
    if got:
        paths.append(_plot({n: (M.GOT10K_THRESHOLDS, r.success, r.ao) for n, r in got.items()},
                           "Overlap threshold", "Success rate (%)", f"Success plot — {title}",
                           out_dir / f"{prefix}success.png", "{name} [AO {value:.1f}]"))
    return paths


def write_report(sequences: Sequence[BenchmarkSequence], all_scores: Sequence[Scores], out_dir: str | Path, title: str) -> Path:
    """``report.md`` (overall table, per-attribute AUC table), ``scores.json`` and the PNG plots.

    ``sequences`` supply the attributes of the per-attribute breakdown (may be empty).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    count = max(len((s.ope or s.got10k).per_sequence) for s in all_scores)
    lines = [f"# {title}\n", f"{count} sequences.\n", markdown_table({s.name: s.summary() for s in all_scores})]
    plots = plot_scores(all_scores, out_dir, title)
    data = {s.name: {"overall": s.summary(), "per_sequence": (s.ope or s.got10k).per_sequence} for s in all_scores}
    per_attr = {s.name: attribute_scores(sequences, s) for s in all_scores}
    attrs = sorted({a for v in per_attr.values() for a in v})
    if attrs:
        counts = {a: sum(a in s.attributes for s in sequences) for a in attrs}
        lines.append("\n## Success AUC per attribute\n")
        lines.append(markdown_table({n: {f"{a} ({counts[a]})": r[a].auc for a in attrs if a in r}
                                     for n, r in per_attr.items()}))
        for a in attrs:
            subset = [Scores(n, ope=r[a]) for n, r in per_attr.items() if a in r]
            plots += plot_scores(subset, out_dir / "attributes", f"{title} — {a} ({counts[a]})", prefix=f"{a}_")
        for n, r in per_attr.items():
            data[n]["attributes"] = {a: v.summary() for a, v in r.items()}
    lines.append("\n" + "\n".join(f"![{p.stem}]({p.relative_to(out_dir).as_posix()})" for p in plots) + "\n")
    (out_dir / "report.md").write_text("\n".join(lines))
    (out_dir / "scores.json").write_text(json.dumps(data, indent=2, default=float))
    return out_dir / "report.md"
