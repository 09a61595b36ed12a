"""Runs: one request's stream (seq, replay log, subscribers, cancel) and its recording."""
