"""Supply-risk indices: pure, vectorised functions over labelled arrays, each citing its source."""
