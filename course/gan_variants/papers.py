"""The papers' results on the ring and grid benchmarks, and how this kit's runs are judged beside them."""

from __future__ import annotations

from dataclasses import dataclass

from course.gan.benchmark import CoverageRun
from course.language import tr


@dataclass(frozen=True)
class PublishedCoverage:
    """A published result on the ring or grid benchmark: mean modes covered and share of high-quality samples."""

    target: str
    method: str
    modes_covered: float
    high_quality_share: float
    source: str = tr("VEEGAN T1, its setting")  # the language the kit speaks when it is imported


# Srivastava et al. (2017), VEEGAN, Table 1: 2,500 samples, high quality = within 3 standard deviations of the
# nearest mode, a mode covered = nearest mode of a high-quality sample, means over five runs; the Unrolled GAN
# (Metz et al., 2017) rows were run by the VEEGAN authors with five unrolling steps.
PUBLISHED = (
    PublishedCoverage("ring", "GAN", 1.0, 0.993),
    PublishedCoverage("ring", "ALI", 2.8, 0.0013),
    PublishedCoverage("ring", "Unrolled GAN", 7.6, 0.356),
    PublishedCoverage("ring", "VEEGAN", 8.0, 0.529),
    PublishedCoverage("grid", "GAN", 3.3, 0.005),
    PublishedCoverage("grid", "ALI", 15.8, 0.016),
    PublishedCoverage("grid", "Unrolled GAN", 23.6, 0.16),
    PublishedCoverage("grid", "VEEGAN", 24.6, 0.40),
)


def published_setting_note(runs: list[CoverageRun]) -> str:
    """What the published rows share with ``runs`` and what they do not, with the plain GAN's ring coverage in both.

    The published rows share the benchmark's definitions, not its setting: the kit does not reproduce the papers'
    networks, optimisers or training lengths, so the rows are context and never ranked against ours."""
    paper_gan = next(p.modes_covered for p in PUBLISHED if p.target == "ring" and p.method == "GAN")
    vanilla = _run_labelled(runs, "ring", "vanilla")
    ours = f"{vanilla.mean_modes_covered:.1f}" if vanilla is not None else tr("(no vanilla ring run here)")
    return tr("The published rows share this benchmark's definitions (2,500 samples, 3 standard deviations, five "
              "runs) but not its setting: the papers trained their own networks with their own optimisers for their "
              "own number of steps. The plain GAN shows that the two settings are different games: the paper's "
              "covered {paper_gan} of the ring's 8 modes, this kit's {ours}. So the rows are context; ranking a "
              "method above or below them would compare settings, not methods.").format(paper_gan=f"{paper_gan:.0f}",
                                                                                         ours=ours)


def covers_every_mode(run: CoverageRun) -> bool:
    """Every seed of the run covered every mode."""
    return min(run.modes_covered) == run.modes


def best_run(runs: list[CoverageRun], target: str, exclude=("CGAN",)) -> CoverageRun | None:
    """The unsupervised run on ``target`` covering every mode on every seed with the highest high-quality share.

    CGAN is left out by default: it is told which mode to draw, which the other methods must find by themselves.
    """
    complete = [run for run in runs if run.target == target and run.label not in exclude and covers_every_mode(run)]
    return max(complete, key=lambda run: run.mean_high_quality_share, default=None)


def _run_labelled(runs: list[CoverageRun], target: str, label: str) -> CoverageRun | None:
    return next((run for run in runs if run.target == target and run.label == label), None)


def find_run(runs: list[CoverageRun], target: str, label: str) -> CoverageRun:
    """The run labelled ``label`` on ``target``; a clear error naming the runs there if there is none."""
    found = _run_labelled(runs, target, label)
    if found is None:
        present = [run.label for run in runs if run.target == target]
        raise ValueError(f"no run labelled {label!r} on {target!r}; the runs there are {present}")
    return found


def benchmark_verdict(runs: list[CoverageRun]) -> str:
    """Per target: the best unsupervised run covering every mode on every seed, and CGAN's row (told the mode)
    beside it when there is one. Only this kit's runs are compared: see :func:`published_setting_note`."""
    lines = []
    for target in dict.fromkeys(run.target for run in runs):
        best = best_run(runs, target)
        if best is None:
            lines.append(tr("{target}: no unsupervised variant covered every mode on every seed").format(target=target))
        else:
            lines.append(tr("{target}: best unsupervised variant covering every mode on every seed: {label}, "
                            "{share:.1%} high quality").format(target=target, label=best.label,
                                                               share=best.mean_high_quality_share))
        cgan = _run_labelled(runs, target, "CGAN")
        if cgan is not None:
            lines.append(" " * (len(target) + 2) + tr(
                "CGAN (told the mode): {covered:.1f}/{modes} modes, {share:.1%} high quality, every mode on every "
                "seed: {complete}").format(covered=cgan.mean_modes_covered, modes=cgan.modes,
                                           share=cgan.mean_high_quality_share, complete=covers_every_mode(cgan)))
    return "\n".join(lines)
