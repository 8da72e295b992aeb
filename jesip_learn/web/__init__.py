"""The web layer: the request edge (edge.py), who may come in (access.py), and blueprints
registered each with its audience, each thin (parse, authorise, call, render)."""
