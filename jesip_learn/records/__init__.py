"""Records: the audit log, subject access, erasure and retention."""
