"""agentstream: stream AI agents to browsers over WebSockets."""

__version__ = "0.1.0"
