//! Schema compatibility (NONE, BACKWARD, FORWARD, FULL and their TRANSITIVE forms) and the house
//! policy `add-with-default-only`. Every check returns all violations, each with its path.
