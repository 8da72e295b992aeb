"""Live multi-agency exercises: a facilitator runs a published `.exercise.md` script with
participants on their own devices, each playing one role and seeing only what reaches it.

sessions.py makes and runs a session (participants, roles, join codes, the clock);
log.py is its append-only event log; actions.py what participants do; feed.py what each
role sees; debrief.py the debrief; record.py the exercise record written at the end;
notify.py announces new entries to the open streams; erasure.py removes the words of a
person being anonymised. Nothing here imports Flask.
"""
