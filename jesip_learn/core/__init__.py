"""Core: database, settings, mail, log redaction, typed text and numbers, export writers."""
