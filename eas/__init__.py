"""Central metadata archive (EAS): schema, REST API, typed client, auth."""
