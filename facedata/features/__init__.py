"""Feature maps computed from images: HED edges and sketches, parsing, colour, HOG."""
