"""Results of long runs, shipped with the kit, so that a lecture shows them at its default size.

A lecture whose point needs minutes of training (a benchmark over seeds, a DCGAN that draws digits) loads
a file from ``course/shipped/`` at its default size and says so (lecture 04 runs the computation itself at
``COURSE_FULL=1``). Each file is written by the code that computes it, never by hand, and records how it was made:
the command that reproduces it, the date, the seconds it took, torch's version and the machine.

    python -m course.shipped                  # list the shipped results and whether each is present
    python -m course.shipped mode_collapse    # recompute lecture 04's benchmark and rewrite its file
    python -m course.shipped dcgan_digits     # retrain lecture 06's DCGAN and rewrite its checkpoint
    python -m course.shipped dcgan_ablation   # lecture 06's table: six DCGAN runs, one process per core
    python -m course.shipped variant_benchmark   # lecture 07's tables, spread over the cores
    python -m course.shipped digits_classifier   # retrain the classifier that scores generated digits
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course.language import tr

SHIPPED_DIR = Path(__file__).with_name("shipped")


@dataclass(frozen=True)
class ShippedResult:
    """One shipped result: its file, the module whose ``compute()`` makes it, and what it is."""

    name: str
    filename: str
    module: str  # its compute() -> (payload, settings) makes the result, its save(path, payload, made) writes it
    description: str

    @property
    def path(self) -> Path:
        return SHIPPED_DIR / self.filename

    @property
    def command(self) -> str:
        return f"python -m course.shipped {self.name}"


RESULTS = {
    result.name: result for result in (
        ShippedResult("mode_collapse", "mode_collapse.json", "course.mode_collapse",
                      "lecture 04: plain GANs on the ring and the grid, 5 seeds x 10,000 steps per setting"),
        ShippedResult("dcgan_digits", "dcgan_digits.pt", "course.dcgan_digits",
                      "lecture 06: the digits DCGAN's generator after its default run"),
        ShippedResult("dcgan_ablation", "dcgan_ablation.json", "course.dcgan_ablation",
                      "lecture 06: the paper's DCGAN recipe, then each change up to the default run, scored"),
        ShippedResult("variant_benchmark", "variant_benchmark.pt", "course.variant_benchmark",
                      "lecture 07: the GAN variants on the ring and the grid, 5 seeds x 10,000 steps per setting"),
        ShippedResult("vae_vs_gan", "vae_vs_gan.json", "course.bench_vae_gan",
                      "lecture 08: VAE (300 epochs) against GAN (6,000 steps) on the digits, seeds 0-2"),
        ShippedResult("digits_classifier", "digits_classifier.pt", "course.digit_quality",
                      "the digits classifier that scores generated digits (seed 0), trained"),
    )
}


def provenance(result: ShippedResult, seconds: float, settings: dict) -> dict:
    """How a result was made: the command, when, how long, on what, with which settings."""
    return {
        "command": result.command,
        "date": datetime.date.today().isoformat(),
        "seconds": round(seconds, 1),
        "torch": str(torch.__version__),  # a plain string: weights_only loading refuses TorchVersion
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, {platform.system()}",
        "settings": settings,
    }


def describe(made: dict) -> str:
    """One line on where a shipped result came from, for a lecture to print beside it."""
    minutes = made["seconds"] / 60
    return tr("shipped result, made on {date} with torch {torch} in {minutes:.1f} min; `{command}` makes it "
              "again").format(date=made["date"], torch=made["torch"], minutes=minutes, command=made["command"])


def refresh(name: str) -> Path:
    """Recompute one shipped result with its module's ``compute()`` and rewrite its file."""
    result = _result(name)
    module = importlib.import_module(result.module)
    start = time.perf_counter()
    payload, settings = module.compute()
    made = provenance(result, time.perf_counter() - start, settings)
    SHIPPED_DIR.mkdir(exist_ok=True)
    module.save(result.path, payload, made)
    return result.path


def write_json(path: Path, payload, made: dict) -> None:
    """The JSON form most results use: ``{"provenance": ..., "payload": ...}``, written atomically."""
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"provenance": made, "payload": payload}, indent=1) + "\n")
    partial.replace(path)


def read_json(path: Path) -> tuple[object, dict]:
    """(payload, provenance) of a file written by :func:`write_json`."""
    _check_present(path)
    stored = json.loads(path.read_text())
    return stored["payload"], stored["provenance"]


def write_torch(path: Path, payload: dict, made: dict) -> None:
    """The form of results that hold tensors: ``torch.save`` of ``{"provenance": ..., **payload}``, atomically."""
    partial = path.with_suffix(".tmp")
    torch.save({"provenance": made, **payload}, partial)
    partial.replace(path)


def read_torch(path: Path) -> tuple[dict, dict]:
    """(payload, provenance) of a file written by :func:`write_torch`, loaded on the CPU as plain data only."""
    _check_present(path)
    stored = torch.load(path, map_location="cpu", weights_only=True)
    made = stored.pop("provenance")
    return stored, made


def _check_present(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"the shipped result {path.name} is missing from {path.parent}; "
                                f"`python -m course.shipped {path.stem}` recomputes it")


def _result(name: str) -> ShippedResult:
    if name not in RESULTS:
        raise SystemExit(f"no shipped result called {name!r}; choose one of {', '.join(RESULTS)}")
    return RESULTS[name]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.shipped", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"results to recompute: {', '.join(RESULTS)}")
    args = parser.parse_args(argv)
    if not args.names:
        for result in RESULTS.values():
            made = "missing" if not result.path.is_file() else "present"
            print(f"{result.name:<18} {result.filename:<24} {made:<8} {result.description}")
        return
    for name in args.names:
        print(f"{name}: written to {refresh(name)}", flush=True)


if __name__ == "__main__":
    main()
