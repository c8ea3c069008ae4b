"""A whole route as one command: the stages a preset reads are trained first, in order.

The presets already say which stage feeds which (``teacher.checkpoint`` / ``init.checkpoint`` name another
preset's ``<output_dir>/final.pt``), so the route is read from them rather than listed a second time. A stage
with a ``final.pt`` counts as done and is skipped; one cut short (``checkpoints/last.pt`` but no ``final.pt``)
is resumed, so the same command continues a route after any interruption.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from .config import PRESET_DIR, load_config
from .trainer import CHECKPOINTS, FINAL, LAST

INPUT_SECTIONS = ("teacher", "init")  # the sections whose ``checkpoint`` may be an earlier stage's result
CHAIN_SETS = ("output_dir", *(f"{section}.checkpoint" for section in INPUT_SECTIONS))  # per stage, never shared


@dataclass(frozen=True)
class ChainStage:
    name: str
    config: dict[str, Any]

    @property
    def run_dir(self) -> Path:
        return Path(self.config["output_dir"])

    @property
    def final(self) -> Path:
        return self.run_dir / FINAL

    @property
    def done(self) -> bool:
        return self.final.is_file()

    @property
    def cut_short(self) -> bool:
        return not self.done and (self.run_dir / CHECKPOINTS / LAST).is_file()


def _producers() -> dict[Path, str]:
    """``<output_dir>/final.pt`` of every shipped preset -> that preset's name."""
    return {Path(load_config(path.stem)["output_dir"]) / FINAL: path.stem for path in sorted(PRESET_DIR.glob("*.yaml"))}


def plan_chain(source: str, overrides: Sequence[str] = (), root: Optional[str | Path] = None) -> list[ChainStage]:
    """The stages ``source`` needs, each before the stages that read it, ending with ``source`` itself.

    ``overrides`` apply to every stage. With ``root`` each stage writes ``root/<name>`` and reads its inputs
    from there, so a route can run outside ``runs/`` without editing a preset.
    """
    fixed = [text for text in overrides if text.split("=", 1)[0] in CHAIN_SETS]
    if fixed:
        raise ValueError(f"a chain sets each stage's folder and inputs itself: {', '.join(fixed)} would give every "
                         "stage the same one (use --output-dir ROOT for the folders)")
    producers = _producers()
    planned: dict[str, ChainStage] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"presets read each other's results in a cycle: {' -> '.join((*path, name))}")
        config = load_config(name, overrides)
        inputs = {section: producers.get(Path(config[section]["checkpoint"] or "")) for section in INPUT_SECTIONS}
        for earlier in inputs.values():
            if earlier is not None and earlier not in planned:
                visit(earlier, (*path, name))
        label = Path(name).stem
        if root is not None:
            config["output_dir"] = str(Path(root) / label)
            for section, earlier in inputs.items():
                if earlier is not None:
                    config[section]["checkpoint"] = str(planned[earlier].final)
        planned[name] = ChainStage(label, config)

    visit(source, ())
    return list(planned.values())
