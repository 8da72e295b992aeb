"""Courses: the stored catalogue of versions, browser authoring, and SCORM and cmi5 packages."""
