#!/bin/sh
# Runs tests/c/thin_model (random I/O to thin volumes and snapshots of
# snapshots, checked against a model) with the time it needs under TCG;
# the binary skips itself when the runner starts it directly.
# dmx-test: timeout=900
set -u
DMX_THIN_MODEL=1 exec /tests/thin_model
