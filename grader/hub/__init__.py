"""The course server: JupyterHub for a class, with nbgrader's exchange, each student's server in a box of its own
(``deploy/`` holds its configuration; docs/instructors.md, "The course server")."""
