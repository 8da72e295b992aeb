"""Serve the ralph learning record store with its file-system backend, for the tests.

Run by the Python of ralph's own virtual environment (never the app's), with ralph's
settings in the environment: `python ralph_server.py HOST PORT`.

ralph's file-system backend creates its one statements file on the first write and
refuses every later write to it ("already exists and overwrite is not allowed"), so a
second batch would fail with a 500. Writes here append to that file instead, which is how
the other backends behave: each accepted batch is added to what is stored.

ralph has no xAPI State resource, which cmi5 launches need: xapi_state.py adds one.
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.data.fs import FSDataBackend

FSDataBackend.default_operation_type = BaseOperationType.APPEND

from ralph.api import app  # noqa: E402  (after the backend is told to append)
from xapi_state import router as state_router  # noqa: E402  (ralph has no State resource)

app.include_router(state_router)

if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(app, host=host, port=port, log_level="warning")
