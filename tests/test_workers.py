"""grader.workers: a grading process that dies costs its own job only."""

import os

from grader.workers import ProcessDied, run_isolated


def grade(job):
    if job == "crashes":
        os._exit(3)
    if job == "segfaults":
        os.kill(os.getpid(), 11)
    return job.upper()


def test_a_dying_process_costs_only_its_own_job():
    jobs = ["a", "crashes", "b", "segfaults", "c"]
    results = dict(run_isolated(grade, jobs, parallel=2))
    assert set(results) == set(jobs)
    assert [results[job] for job in ("a", "b", "c")] == ["A", "B", "C"]
    assert isinstance(results["crashes"], ProcessDied) and "exit status 3" in str(results["crashes"])
    assert isinstance(results["segfaults"], ProcessDied) and "signal 11" in str(results["segfaults"])
