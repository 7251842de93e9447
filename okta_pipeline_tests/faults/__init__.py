"""The fault suite: the pipeline under the failures a real deployment meets, end to end against
the simulator over a socket and the real node, each scenario ending in one row of a table."""
