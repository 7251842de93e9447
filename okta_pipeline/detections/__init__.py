"""The detection catalog as data: Sigma rules (`sigma/`) and stateful declarations (`stateful/`)."""
