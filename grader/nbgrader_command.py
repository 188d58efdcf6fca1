"""``python -m grader.nbgrader_command ARGS`` is ``python -m nbgrader ARGS`` for the grader's own nbgrader runs,
without two costs of starting that they never need: jsonschema's optional IRI checker (see ``grader/__init__.py``)
and, in a run that creates a gradebook, a second Python process (``alembic heads``) that nbgrader starts
only to read the newest revision of its database schema, which alembic's own API reads here in-process."""

import nbgrader.api
from alembic.config import Config
from alembic.script import ScriptDirectory
from nbgrader.apps.nbgraderapp import main
from nbgrader.dbutil import ALEMBIC_DIR


def newest_schema_revision() -> str:
    """What ``nbgrader.api.get_alembic_version`` returns: the head revision of nbgrader's migration scripts."""
    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


if __name__ == "__main__":
    nbgrader.api.get_alembic_version = newest_schema_revision
    main()
