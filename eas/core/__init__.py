"""Archive operations: each takes a session, flushes at most, and never commits."""
