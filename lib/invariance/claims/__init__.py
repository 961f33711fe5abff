"""One module per claim of the paper (or notebook): its computation, its figure builders and its
findings sentences and verdict live together, so Figure N's code is in one file."""
