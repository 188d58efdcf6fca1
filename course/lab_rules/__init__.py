"""What the labs' test cells share, written once: a module per lab, named after the course module the lab practises.

A lab's module holds the rules its exercises are judged under (:func:`course.judging.forbid` blocks: "compute it
yourself"), the trusted functions an exercise is judged on (:func:`course.judging.built_on` blocks: "judged on its
own"), and the players and weights the lab's tests build alike. A test cell imports what it uses (its hidden part again
where it has imports of its own): ``from course.lab_rules.bce import torch_bce_disabled``.

They run where the test cell runs, through :mod:`course.judging`, so they do the same in each of its three places:
the student's JupyterLab, plain ``nbgrader autograde`` and the grader's judge. In the judge a test cell's names are
the judge's own but for the exercises' names, which stand for the student's objects: a student's cell that defines
one of these names changes nothing there. In the student's own kernel (JupyterLab, plain nbgrader) the student's
code can rebind them, as it can rebind :func:`course.judging.forbid` itself: only the judge is out of its reach.
"""
