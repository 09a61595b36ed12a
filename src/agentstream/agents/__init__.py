"""Agents: run a Strands agent as our events, and the tools apps give their agents."""
