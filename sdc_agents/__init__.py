"""SDC site agents: the agent loop, staging, the Pipeline Runner and profiling."""
