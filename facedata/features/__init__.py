"""Maps computed from face images and label maps: pure functions, array in, array out."""
