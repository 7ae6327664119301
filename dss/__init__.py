"""Per-site distributed storage service (DSS): server, client, backends, audit."""
