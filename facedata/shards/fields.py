"""What kinds of field a shard sample holds, shared by the verifier and the previews."""

from __future__ import annotations

#: Fields at the build's output size, in the order previews show them (component patches
#: have their own sizes).
FULL_SIZE_FIELDS = (
    "jpg",
    "parsing.png",
    "face.png",
    "hair.png",
    "mask.png",
    "sketch.png",
    "color.png",
    "hog.png",
    "parsing_edit.png",
)
#: Fields whose pixels must be 0 or 255.
BINARY_FIELDS = ("face.png", "hair.png", "mask.png", "sketch.png")
#: Fields holding official label ids.
LABEL_FIELDS = ("parsing.png", "parsing_edit.png")
