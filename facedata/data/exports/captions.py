"""Text captions made from CelebA's 40 binary attributes, for text-conditioned trainers.

The caption is a fixed function of the attributes: the same sample always reads the same, and
only attributes a viewer can see are named (``Attractive``, ``Blurry``, ``Oval_Face`` and
``Mouth_Slightly_Open``, which goes with ``Smiling``, are left out). A sample without
attributes (a photo folder) is ``"a photo of a face"``.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Caption of a sample without CelebA attributes.
NO_ATTRIBUTES = "a photo of a face"

_HAIR_COLOURS = (("Black_Hair", "black"), ("Blond_Hair", "blond"), ("Brown_Hair", "brown"),
                 ("Gray_Hair", "gray"))  # fmt: skip
_HAIR_SHAPES = (("Wavy_Hair", "wavy"), ("Straight_Hair", "straight"))
#: Parts named after "with", in this order.
_FEATURES = (
    ("Bangs", "bangs"), ("Receding_Hairline", "a receding hairline"), ("Sideburns", "sideburns"),
    ("Goatee", "a goatee"), ("Mustache", "a mustache"), ("5_o_Clock_Shadow", "stubble"),
    ("Arched_Eyebrows", "arched eyebrows"), ("Bushy_Eyebrows", "bushy eyebrows"),
    ("Narrow_Eyes", "narrow eyes"), ("Bags_Under_Eyes", "bags under the eyes"),
    ("Big_Nose", "a big nose"), ("Pointy_Nose", "a pointy nose"), ("Big_Lips", "big lips"),
    ("High_Cheekbones", "high cheekbones"), ("Rosy_Cheeks", "rosy cheeks"),
    ("Double_Chin", "a double chin"),
)  # fmt: skip
#: Things named after "wearing", in this order.
_WORN = (
    ("Eyeglasses", "eyeglasses"), ("Wearing_Hat", "a hat"), ("Heavy_Makeup", "heavy makeup"),
    ("Wearing_Lipstick", "lipstick"), ("Wearing_Earrings", "earrings"),
    ("Wearing_Necklace", "a necklace"), ("Wearing_Necktie", "a necktie"),
)  # fmt: skip


def _listing(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def caption(attributes: Mapping[str, bool] | None) -> str:
    """Describe a face from its CelebA attributes.

    Parameters
    ----------
    attributes : mapping or None
        CelebA attribute name (``"Smiling"``, ``"Wavy_Hair"``, ...) → bool; missing names
        count as false.

    Returns
    -------
    str
        ``"a [smiling] [young] [bald] {man|woman} [with ...][, wearing ...]"``, or
        :data:`NO_ATTRIBUTES` without attributes.

    Examples
    --------
    >>> caption({"Smiling": True, "Young": True, "Wavy_Hair": True, "Blond_Hair": True,
    ...          "Wearing_Earrings": True})
    'a smiling young woman with wavy blond hair, wearing earrings'
    >>> caption({"Male": True, "Bald": True, "Mustache": True, "No_Beard": True})
    'a bald man with a mustache'
    """
    if not attributes:
        return NO_ATTRIBUTES
    on = {name for name, value in attributes.items() if value}
    adjectives = [word for name, word in (("Smiling", "smiling"), ("Young", "young"),
                                          ("Chubby", "chubby"), ("Pale_Skin", "pale"),
                                          ("Bald", "bald")) if name in on]  # fmt: skip
    noun = "man" if "Male" in on else "woman"
    with_parts = []
    # CelebA marks a few faces with two hair colours or shapes: the first listed is named.
    hair = [next((w for n, w in kind if n in on), None) for kind in (_HAIR_SHAPES, _HAIR_COLOURS)]
    if any(hair) and "Bald" not in on:
        with_parts.append(" ".join(w for w in hair if w) + " hair")
    with_parts += [w for n, w in _FEATURES if n in on]
    if "No_Beard" not in on and "Male" in on and not on & {"Goatee", "Mustache"}:
        with_parts.append("a beard")
    text = "a " + " ".join([*adjectives, noun])
    if with_parts:
        text += " with " + _listing(with_parts)
    if worn := [w for n, w in _WORN if n in on]:
        text += ", wearing " + _listing(worn)
    return text
