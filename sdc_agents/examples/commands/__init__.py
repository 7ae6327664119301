"""Example commands: small Python scripts run as `script --port=path ... --workdir= --logdir=`."""
