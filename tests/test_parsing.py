"""Parsing networks (random weights in facexlib's format), the landmark parser, the stage."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facedata import weights
from facedata.align import eye_centres
from facedata.errors import ConfigError, CorruptWeightsError, MissingWeightsError
from facedata.features import parsing
from facedata.features.landmark_parsing import LANDMARK_CLASSES, landmark_parsing
from facedata.labels import CLASSES, LABEL
from facedata.pipeline import BuildConfig, build
from facedata.pipeline.parsing import ParsingConfig, ParsingStage
from facedata.pipeline.stages import StageContext
from facedata.sample import Sample
from facedata.shards.reader import iter_samples
from facedata.sources import SourceConfig
from facedata.sources.demo import write_demo_tree, write_photos

# Reference §5: BiSeNet's class order and its map to the official ids.
BISENET_NAMES = ["background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear",
                 "r_ear", "ear_r", "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth",
                 "hair", "hat"]  # fmt: skip
BISENET_TO_OFFICIAL = [0, 1, 6, 7, 4, 5, 3, 8, 9, 15, 2, 10, 11, 12, 17, 16, 18, 13, 14]
NORMALISATION = {"bisenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
                 "parsenet": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}  # fmt: skip


def random_checkpoint(arch: str, path: Path) -> Path:
    """A randomly initialised facexlib network saved as facexlib saves its releases."""
    from facexlib.parsing.bisenet import BiSeNet
    from facexlib.parsing.parsenet import ParseNet

    torch.manual_seed(0)
    net = BiSeNet(num_class=19) if arch == "bisenet" else ParseNet(512, 512, parsing_ch=19)
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval mode matters
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def bisenet_file(tmp_path_factory) -> Path:
    return random_checkpoint("bisenet", tmp_path_factory.mktemp("w") / "parsing_bisenet.pth")


def facexlib_reference(arch: str, path: Path, images: np.ndarray) -> np.ndarray:
    """facexlib's own preprocessing, forward and argmax, then the reference remap."""
    from facexlib.parsing.bisenet import BiSeNet
    from facexlib.parsing.parsenet import ParseNet
    from torchvision.transforms.functional import normalize

    net = BiSeNet(num_class=19) if arch == "bisenet" else ParseNet(512, 512, parsing_ch=19)
    net.load_state_dict(torch.load(path, weights_only=True))
    net.eval()
    h, w = images.shape[1:3]
    resized = [cv2.resize(im, (512, 512), interpolation=cv2.INTER_LINEAR) for im in images]
    x = torch.stack([torch.from_numpy(im.astype("float32") / 255.0).permute(2, 0, 1)
                     for im in resized])  # fmt: skip
    x = normalize(x, *NORMALISATION[arch])
    with torch.no_grad():
        logits = net(x)[0]
    if (h, w) != (512, 512):
        logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
    labels = logits.argmax(1).numpy()
    table = np.array(BISENET_TO_OFFICIAL if arch == "bisenet" else range(19))
    return table[labels].astype(np.uint8)


def package_files(module) -> set[str]:
    root = Path(module.__file__).parent
    return {str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts}


def test_remap_table_sends_each_bisenet_class_to_its_official_id():
    assert parsing.BISENET_TO_OFFICIAL.tolist() == BISENET_TO_OFFICIAL
    for index, name in enumerate(BISENET_NAMES):
        assert CLASSES[parsing.BISENET_TO_OFFICIAL[index]] == name


class Stripes(torch.nn.Module):
    """A stand-in network whose column block k has BiSeNet class k as its only winner."""

    def forward(self, x):
        logits = torch.zeros(x.shape[0], 19, 512, 512)
        for k in range(19):
            logits[:, k, :, k * 26 : (k + 1) * 26] = 1.0
        return (logits,)


def test_parser_outputs_official_ids_for_every_bisenet_channel():
    model = parsing.FaceParser(Stripes(), arch="bisenet")
    labels = parsing.parse(model, np.zeros((1, 512, 512, 3), np.uint8))[0]
    for k in range(19):
        assert (labels[:, k * 26 + 13] == BISENET_TO_OFFICIAL[k]).all(), BISENET_NAMES[k]


def test_bisenet_through_the_manager_equals_facexlib(bisenet_file, photo, publish):
    import facexlib

    before = package_files(facexlib)
    publish("parsing-bisenet", bisenet_file)
    weights.add("parsing-bisenet", bisenet_file)
    model = parsing.load("parsing-bisenet", arch="bisenet", device="cpu")
    # Not 512²: resized to 512 for the network, logits resized back (a 512² batch: below).
    smaller = cv2.resize(photo, (320, 320), interpolation=cv2.INTER_AREA)[None]
    labels = parsing.parse(model, smaller)
    assert labels.shape == (1, 320, 320) and labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, facexlib_reference("bisenet", bisenet_file, smaller))
    assert package_files(facexlib) == before  # facexlib wrote nothing into site-packages


def test_parsenet_from_a_file_equals_facexlib(tmp_path, photo):
    path = random_checkpoint("parsenet", tmp_path / "parsenet.pth")
    model = parsing.load(path, arch="parsenet", device="cpu")
    batch = photo[None]
    np.testing.assert_array_equal(
        parsing.parse(model, batch), facexlib_reference("parsenet", path, batch)
    )


def test_wrong_architecture_and_missing_weights_say_what_to_do(bisenet_file):
    with pytest.raises(CorruptWeightsError, match="pass arch='bisenet'"):
        parsing.load(bisenet_file, arch="parsenet")
    with pytest.raises(MissingWeightsError, match="facedata weights add parsing-parsenet"):
        parsing.load(arch="parsenet", download=False)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\) uint8"):
        parsing.parse(parsing.FaceParser(Stripes(), arch="bisenet"), np.zeros((8, 8, 3)))


def test_landmark_parser_puts_parts_where_the_landmarks_are(photo, landmarks):
    labels = landmark_parsing(landmarks, photo.shape[:2])
    assert labels.shape == photo.shape[:2] and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {LABEL[n] for n in LANDMARK_CLASSES}
    lm = landmarks.astype(np.float64)

    def at(point) -> str:
        x, y = np.round(point).astype(int)
        return CLASSES[labels[y, x]]

    left, right = eye_centres(lm)
    assert at(left) == "l_eye" and at(right) == "r_eye"
    assert at(lm[30]) == "nose" and at((lm[27] + lm[30]) / 2) == "nose"
    assert at((lm[51] + lm[62]) / 2) == "u_lip" and at((lm[57] + lm[66]) / 2) == "l_lip"
    assert at(lm[19] + (0, 2)) == "l_brow" and at(lm[24] + (0, 2)) == "r_brow"
    assert at((lm[5] + lm[48]) / 2) == "skin"  # cheek
    assert at(lm[27] - (0, 0.3 * (lm[8, 1] - lm[27, 1]))) == "skin"  # forehead
    assert at((5, 5)) == "background" and at(lm[8] + (0, 15)) == "background"
    # Each eye label is where its landmarks are, not elsewhere.
    ys, xs = np.nonzero(labels == LABEL["l_eye"])
    assert np.hypot(xs.mean() - left[0], ys.mean() - left[1]) < 2


def test_config_choices_are_checked():
    with pytest.raises(ConfigError, match="--parser must be one of"):
        ParsingConfig(parser="segformer")
    with pytest.raises(ConfigError, match="--parsing-weights needs --parser bisenet"):
        ParsingConfig(parser="auto", weights="x.pth")


def stage(config: ParsingConfig, size: int = 512) -> ParsingStage:
    s = ParsingStage(config, StageContext(size=size, seed=0, device="cpu"))
    s.setup()
    return s


def test_auto_prefers_annotations_then_cached_network_then_segmentation(
    bisenet_file, photo, landmarks, publish
):
    annotated = np.full(photo.shape[:2], LABEL["skin"], np.uint8)

    def batch():
        return [
            Sample(key="a", image=photo, parsing=annotated.copy(), landmarks=landmarks),
            Sample(key="b", image=photo, landmarks=landmarks),
            Sample(key="c", image=photo[:, ::-1].copy(), landmarks=landmarks),
            Sample(key="d", image=photo),
        ]

    offline = batch()
    stage(ParsingConfig()).run(offline)
    assert [s.meta.get("maps", {}).get("parsing") for s in offline] == [
        "annotations", "segmentation", "segmentation", None]  # fmt: skip
    assert "weights fetch parsing-bisenet" in offline[3].error[1]
    assert offline[1].meta["parsing_has_hair"] is True
    assert offline[0].meta["parsing_has_hair"] is True
    assert [s.meta.get("parsing_method") for s in offline[:3]] == [
        "annotations", "segmentation", "segmentation"]  # fmt: skip

    publish("parsing-bisenet", bisenet_file)
    weights.add("parsing-bisenet", bisenet_file)
    cached = batch()
    stage(ParsingConfig()).run(cached)
    assert [s.meta["maps"]["parsing"] for s in cached] == ["annotations", "bisenet", "bisenet",
                                                           "bisenet"]  # fmt: skip
    np.testing.assert_array_equal(cached[0].fields["parsing.png"], annotated)
    expected = facexlib_reference("bisenet", bisenet_file, np.stack([photo, photo[:, ::-1]]))
    np.testing.assert_array_equal(np.stack([cached[1].parsing, cached[2].parsing]), expected)


def test_explicit_parsers_fail_per_sample_or_at_setup(photo, monkeypatch):
    samples = [Sample(key="a", image=photo)]
    stage(ParsingConfig(parser="annotations")).run(samples)
    assert samples[0].error[0] == "parsing" and "no parsing annotations" in samples[0].error[1]
    samples = [Sample(key="a", image=photo)]
    stage(ParsingConfig(parser="landmarks")).run(samples)
    assert "no face landmarks" in samples[0].error[1]

    def offline(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(MissingWeightsError, match="facedata weights add parsing-bisenet"):
        ParsingStage(ParsingConfig(parser="bisenet"), StageContext(size=64, seed=0)).setup()


def test_demo_build_takes_the_photo_through_the_unannotated_route(tmp_path):
    # The default demo's layout with fewer drawn faces (drawing 24 takes a while).
    root = write_demo_tree(tmp_path / "demo", count=3)
    write_photos(root)
    report = build(BuildConfig(out=str(tmp_path / "out"), size=128, progress=False),
                   SourceConfig(name="demo", root=str(root)))  # fmt: skip
    assert report.failures == [] and report.written == report.attempted == 4
    metas = {s["__key__"]: (s["json"], s) for s in iter_samples(str(tmp_path / "out"))}
    photo_meta, photo_sample = metas["demo-astronaut"]
    assert photo_meta["align"]["method"] == "ffhq"
    assert photo_meta["maps"]["parsing"] == photo_meta["parsing_method"] == "segmentation"
    assert photo_meta["parsing_has_hair"] is True and len(photo_meta["landmarks"]) == 68
    assert photo_meta["split"] == "train"
    assert photo_sample["hair.png"].mean() > 0.05 * 255 and photo_sample["face.png"].any()
    (left, right) = photo_meta["eyes"]
    assert 0.3 * 128 < left[0] < right[0] < 0.7 * 128  # FFHQ puts the eyes near the centre
    drawn = [m for k, (m, _) in metas.items() if k != "demo-astronaut"]
    assert {m["align"]["method"] for m in drawn} == {"none"}
    assert {m["maps"]["parsing"] for m in drawn} == {"annotations"}
