"""Maps computed from face images and label maps: pure functions, array in, array out.

One rule for batches holds across these modules:

- **numpy is one image.** A function given an ``(H, W[, C])`` numpy array returns numpy
  arrays for that image (``sketch``, ``color.color_map``, ``hog.cell_histograms``, ...).
- **a torch tensor is a batch.** The maps with a torch route (``color``, ``hog``) take a
  ``(B, H, W[, C])`` tensor on any device and return tensors of the same batch on that
  device; numpy in, numpy out; tensor in, tensor out.
- **networks take numpy batches and own their devices.** ``parsing.parse`` takes an
  ``(N, H, W, 3)`` uint8 array and returns an ``(N, H, W)`` array; ``hed.edges`` takes a
  sequence of images of any sizes and always returns a list of maps, one per image.
"""
