"""The web labeller: a local page where a person answers the loop's questions in a browser."""

from active.web.server import WebOracle

__all__ = ["WebOracle"]
