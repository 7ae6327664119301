"""The front door: the `sdc` CLI, settings loading, `sdc demo` and server composition."""
