"""Maps computed from a face image and its label map: pure functions, array in, array out."""
