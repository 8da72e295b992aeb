"""The web layer: one blueprint per audience, each thin (parse, authorise, call, render)."""
