"""Progress bars for the lectures' long cells: a bar in JupyterLab, a line of text in a terminal (tqdm.auto).

A loop written in a notebook takes its bar straight from tqdm (``for step in tqdm(range(steps))``); a trainer that
runs its own loop (``trainer.step(n)``) takes one from :func:`step_with_progress`.
"""

from __future__ import annotations

from tqdm.auto import tqdm

STEPS_PER_UPDATE = 100


def step_with_progress(trainer, steps: int, description: str, chunk: int = STEPS_PER_UPDATE):
    """``trainer.step(steps)``, taken ``chunk`` steps at a time under a bar; the same steps in the same order, so the
    same result as one call. Returns what the last call returned (the last step's statistics)."""
    if steps < 1 or chunk < 1:
        raise ValueError(f"steps={steps}, chunk={chunk}: both must be at least 1")
    last = None
    with tqdm(total=steps, desc=description, unit="step") as bar:
        for start in range(0, steps, chunk):
            taken = min(chunk, steps - start)
            last = trainer.step(taken)
            bar.update(taken)
    return last
