"""The web portal for procesregisseurs, informatiecoördinatoren and the FG.

Server-rendered (Starlette + Jinja2), a client of the node's own gRPC services;
see docs/portaal.md. ``server.py`` wires it, ``app.py`` holds the pages.
"""
