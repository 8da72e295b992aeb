"""The xAPI State resource (xAPI 1.0.3, part three, 2.3) for the test learning record
store. ralph 5.1 keeps statements only, and cmi5 needs the State resource: the launching
system writes the AU's LaunchData there, and the AU reads it and keeps its own documents.
ralph_server.py mounts this router on ralph's own app, so it shares ralph's basic
authentication and CORS settings. Documents live in memory, for the store's lifetime.

Run by ralph's Python (its virtual environment has FastAPI), never by the app's.
"""

import json
import threading
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response, Security
from ralph.api.auth import get_authenticated_user

router = APIRouter(prefix="/xAPI/activities/state")
Reader = Annotated[object, Security(get_authenticated_user, scopes=["state/read"])]
Writer = Annotated[object, Security(get_authenticated_user, scopes=["state/write"])]
_documents: dict[tuple[str, str, str, str], tuple[bytes, str]] = {}
_lock = threading.Lock()


def _key(activity_id: str, agent: str, registration: str | None, state_id: str):
    try:
        canonical = json.dumps(json.loads(agent), sort_keys=True)
    except ValueError:
        raise HTTPException(400, "agent must be JSON") from None
    return (activity_id, canonical, registration or "", state_id)


@router.get("")
def get_state(_user: Reader, activityId: str, agent: str, stateId: str | None = None,  # noqa: N803
              registration: str | None = None):
    if stateId is None:
        with _lock:
            ids = [key[3] for key in _documents
                   if key[:3] == _key(activityId, agent, registration, "")[:3]]
        return ids
    with _lock:
        found = _documents.get(_key(activityId, agent, registration, stateId))
    if found is None:
        raise HTTPException(404, "no such document")
    return Response(content=found[0], media_type=found[1])


@router.put("", status_code=204)
async def put_state(_user: Writer, request: Request, activityId: str, agent: str, stateId: str,  # noqa: N803
                    registration: str | None = None):
    body = await request.body()
    media = request.headers.get("content-type", "application/octet-stream")
    with _lock:
        _documents[_key(activityId, agent, registration, stateId)] = (body, media)
    return Response(status_code=204)


@router.post("", status_code=204)
async def merge_state(_user: Writer, request: Request, activityId: str, agent: str, stateId: str,  # noqa: N803
                      registration: str | None = None):
    """JSON documents are merged, as the specification says; anything else replaces."""
    body = await request.body()
    key = _key(activityId, agent, registration, stateId)
    with _lock:
        old = _documents.get(key)
        try:
            merged = {**json.loads(old[0]), **json.loads(body)} if old else json.loads(body)
            _documents[key] = (json.dumps(merged).encode(), "application/json")
        except (ValueError, TypeError):
            raise HTTPException(400, "both documents must be JSON objects to merge") from None
    return Response(status_code=204)


@router.delete("", status_code=204)
def delete_state(_user: Writer, activityId: str, agent: str, stateId: str,  # noqa: N803
                 registration: str | None = None):
    with _lock:
        _documents.pop(_key(activityId, agent, registration, stateId), None)
    return Response(status_code=204)
