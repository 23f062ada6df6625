"""Reading and writing images safely."""
