"""JupyterHub for the course, from [tool.course.server] in the checkout's pyproject.toml: `python -m grader hub
start` runs it (docs/instructors.md, "The course server"). To let students in with the university's accounts
instead of this machine's, add for example:

    c.JupyterHub.authenticator_class = "ldapauthenticator.LDAPAuthenticator"   # pip install jupyterhub-ldapauthenticator
    c.JupyterHub.authenticator_class = "oauthenticator.generic.GenericOAuthenticator"  # pip install oauthenticator

with that authenticator's settings; each student still needs an account on this machine (python -m grader hub
setup --roster) for their server and the exchange.
"""

import os
from pathlib import Path

from grader.hub.config import COURSE_ROOT_VARIABLE, configure
from grader.hub.settings import read_settings

CHECKOUT = Path(__file__).resolve().parent.parent
COURSE = Path(os.environ.get(COURSE_ROOT_VARIABLE, CHECKOUT))  # the course `grader --root` serves

configure(get_config(), read_settings(COURSE / "pyproject.toml"), CHECKOUT, COURSE)  # noqa: F821 (JupyterHub's)
