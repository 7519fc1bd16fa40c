"""Peer tools for side-by-side tests: their environments and runners (never imported by locusflow).

``tests/`` is on ``sys.path`` (pytest.ini ``pythonpath``), so test files import ``from peers.venv import
peer_venv`` or ``from peers.apt import apt_tool``; ``conftest`` re-exports both.
"""
