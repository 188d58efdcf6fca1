# nbgrader's own configuration, for instructors who run nbgrader (or its formgrader) directly
# from the checkout: the solutions are nbgrader's "source", labs/ is its "release".
# `python -m grader` does not read this file; it works in a temporary course folder.
c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.ExecutePreprocessor.timeout = 300
