"""``facedata build``: a dataset → WebDataset shards."""

from __future__ import annotations

from pathlib import Path

import typer

from facedata.errors import BuildFailedError
from facedata.features.color import Smoothing
from facedata.features.components import ComponentSizes
from facedata.features.edits import EditConfig
from facedata.features.sketch import CLAHE_CLIP, SketchStyle
from facedata.pipeline import BuildConfig, BuildReport, build
from facedata.pipeline.align import AlignConfig
from facedata.pipeline.color import ColorConfig
from facedata.pipeline.config import DEFAULT_MAPS
from facedata.pipeline.editing import EditsConfig
from facedata.pipeline.hog import HogConfig
from facedata.pipeline.maps import MaskConfig
from facedata.pipeline.parsing import ParsingConfig
from facedata.pipeline.sketch import SketchConfig
from facedata.sources import SOURCES, SourceConfig

from .common import setup_logging, split_list, user_errors


def build_command(
    src: str = typer.Option("demo", "--src", help=f"Source: {', '.join(sorted(SOURCES))}."),
    out: Path = typer.Option(..., "--out", help="Output folder for shards and manifest."),
    root: Path = typer.Option(
        None, "--root", help="Dataset root (default $FACEDATA_DATA/<src> or ~/datasets/<src>)."
    ),
    size: int = typer.Option(512, "--size", help="Output side in pixels."),
    maps: str = typer.Option(
        ",".join(DEFAULT_MAPS), "--maps", help="Comma-separated maps to compute."
    ),
    mask_kind: str = typer.Option(
        "scfegan", "--mask-kind", help="Mask family or 'mixed' (see `facedata masks --help`)."
    ),
    masks_per_sample: int = typer.Option(
        1, "--masks-per-sample", help="Masks per sample; K > 1 adds masks.npy (bit-packed)."
    ),
    min_coverage: float = typer.Option(0.0, "--min-coverage", help="Redraw masks below this."),
    max_coverage: float = typer.Option(1.0, "--max-coverage", help="Redraw masks above this."),
    parser: str = typer.Option(
        "auto",
        "--parser",
        help="Label maps: annotations, bisenet, parsenet, segmentation (landmarks + colour "
        "segmentation: hair, ears, neck, cloth), landmarks, or auto (annotations, else a "
        "network whose weights are cached, else segmentation).",
    ),
    parsing_weights: str = typer.Option(
        None,
        "--parsing-weights",
        help="Weight name or checkpoint for --parser bisenet/parsenet (default: the registered "
        "parsing-bisenet / parsing-parsenet).",
    ),
    align: str = typer.Option(
        "auto",
        "--align",
        help="ffhq (FFHQ crop from 68 landmarks), none, or auto: none for aligned sources "
        "(celeba-hq, celebamask-hq, drawn demo faces), ffhq for photos (folder).",
    ),
    all_faces: bool = typer.Option(
        False, "--all-faces", help="With FFHQ alignment, keep every face as sample <key>-f<i>."
    ),
    landmarks: bool = typer.Option(
        True,
        "--landmarks/--no-landmarks",
        help="Find 68 landmarks on images that are not aligned here too (for metadata, masks "
        "and the landmark parser).",
    ),
    detect_size: int = typer.Option(
        640,
        "--detect-size",
        help="Longest side the face detector sees; raise it to find small faces in large "
        "photos (slower).",
    ),
    aligned_detect_size: int = typer.Option(
        256,
        "--aligned-detect-size",
        help="Longest side the face detector sees on images their source marks aligned "
        "(the face fills the frame).",
    ),
    min_face_score: float = typer.Option(
        0.3, "--min-face-score", help="Lowest dlib detector score accepted as a face."
    ),
    min_face_size: int = typer.Option(
        AlignConfig.min_face_size,
        "--min-face-size",
        help="Smallest face aligned: side in source pixels of its FFHQ crop; smaller faces "
        "become failure lines giving their size (0: keep all).",
    ),
    aligned_tolerance: float = typer.Option(
        AlignConfig.aligned_tolerance,
        "--aligned-tolerance",
        help="With --align auto, keep images whose FFHQ crop is their own frame within this "
        "fraction of the side (already aligned crops); 0: off.",
    ),
    max_landmark_shift: float = typer.Option(
        AlignConfig.max_landmark_shift,
        "--max-landmark-shift",
        help="Fail faces whose landmarks, fitted again on the aligned crop, move by more than "
        "this many eye distances (less for detector scores under 0.6); 0: off.",
    ),
    component_sizes: str = typer.Option(
        "128,160,192",
        "--component-sizes",
        help="components: eye, nose and mouth patch sides at 512² (scaled with --size).",
    ),
    edit_factor: str = typer.Option(
        "0.25,0.75", "--edit-factor", help="edits: MIN,MAX of the factor towards the reference."
    ),
    sketch: str = typer.Option(
        "auto",
        "--sketch",
        help="sketch.png method: hed, xdog, or auto (HED when its weights are cached, else XDoG).",
    ),
    hed_weights: str = typer.Option(
        "hed-bsds500",
        "--hed-weights",
        help="HED weights for sketches: hed-bsds500, hed-controlnet or a file path.",
    ),
    clahe: bool = typer.Option(
        False, "--clahe/--no-clahe", help="Equalise contrast (CLAHE) before sketch edges."
    ),
    stroke_jitter: int = typer.Option(
        0, "--stroke-jitter", help="Draw each sketch stroke 1 to 1+N pixels wide (seeded)."
    ),
    color_route: str = typer.Option(
        "fast",
        "--color-route",
        help="color.png smoothing: fast (coarse grid), naive (SC-FEGAN's full resolution) "
        "or torch (coarse grid, batched on --device).",
    ),
    color_factor: int = typer.Option(
        4, "--color-factor", help="Grid step of the fast and torch colour smoothing."
    ),
    color_background: str = typer.Option(
        "median", "--color-background", help="color.png background: median or zero."
    ),
    hog_route: str = typer.Option(
        "numpy", "--hog-route", help="HOG maps: numpy, or torch (batched on --device)."
    ),
    hog_cell: int = typer.Option(8, "--hog-cell", help="HOG cell side in pixels."),
    hog_orientations: int = typer.Option(
        9, "--hog-orientations", help="HOG orientation bins over 0-180 degrees."
    ),
    hog_channels: str = typer.Option(
        "rgb", "--hog-channels", help="HOG input: rgb (strongest channel) or gray."
    ),
    split: str = typer.Option("auto", "--split", help="auto, celeba, scfegan or none."),
    partition_file: Path = typer.Option(
        None, "--partition-file", help="CelebA list_eval_partition.txt (default: under --root)."
    ),
    accept_damaged: bool = typer.Option(
        False,
        "--accept-damaged",
        help="Keep JPEGs that libjpeg reports as damaged (by default each is a failure line).",
    ),
    seed: int = typer.Option(0, "--seed", help="Global seed; outputs depend on (seed, key)."),
    shard_size: int = typer.Option(1000, "--shard-size", help="Samples per shard."),
    limit: int = typer.Option(None, "--limit", help="Use only the first N samples."),
    workers: int = typer.Option(
        0, "--workers", help="Parallel shard tasks; 0 = one process per CPU core."
    ),
    backend: str = typer.Option("loky", "--backend", help="loky, dask or ray."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler / Ray address."),
    worker_wait: float = typer.Option(
        60.0,
        "--worker-wait",
        help="Seconds a cluster build waits when no worker is left, then fails (finished "
        "shards are kept; re-run to resume).",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:i."),
    precision: str = typer.Option(
        "auto",
        "--precision",
        help="Networks: auto (bf16/fp16 on a GPU, fp32 on a CPU), fp32, bf16 or fp16.",
    ),
    network_batch: int = typer.Option(
        0,
        "--network-batch",
        help="Images per network pass, merged across workers (0: 32 on a GPU, 8 on a CPU).",
    ),
    batch_size: int = typer.Option(16, "--batch-size", help="Samples processed together."),
    max_failure_rate: float = typer.Option(
        0.01, "--max-failure-rate", help="Exit non-zero when more samples fail than this."
    ),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Skip complete shards."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Delete a previous build first."),
    repair: bool = typer.Option(
        False, "--repair", help="Re-hash kept shards; rebuild those whose bytes no longer match."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Build WebDataset shards (images, parsing, masks, ...) from a face dataset."""
    setup_logging(verbose)
    config = BuildConfig(
        out=str(out),
        size=size,
        maps=split_list(maps),
        seed=seed,
        split=split,
        shard_size=shard_size,
        limit=limit,
        batch_size=batch_size,
        workers=workers,
        backend=backend,
        scheduler=scheduler,
        worker_wait=worker_wait,
        device=device,
        precision=precision,
        network_batch=network_batch,
        max_failure_rate=max_failure_rate,
        progress=progress,
    )
    source = SourceConfig(
        name=src,
        root=str(root) if root else None,
        partition_file=str(partition_file) if partition_file else None,
        accept_damaged=accept_damaged,
    )
    with user_errors():
        stage_configs = {
            "mask": MaskConfig(
                kind=mask_kind,
                count=masks_per_sample,
                min_coverage=min_coverage,
                max_coverage=max_coverage,
            ),
            "parsing": ParsingConfig(parser=parser, weights=parsing_weights),
            "align": AlignConfig(
                method=align,
                all_faces=all_faces,
                landmarks=landmarks,
                detect_size=detect_size,
                aligned_detect_size=aligned_detect_size,
                min_score=min_face_score,
                min_face_size=min_face_size,
                aligned_tolerance=aligned_tolerance,
                max_landmark_shift=max_landmark_shift,
            ),
        }
        sizes = _numbers(component_sizes, int, 3, "--component-sizes")
        stage_configs["components"] = ComponentSizes(*sizes)
        factor = _numbers(edit_factor, float, 2, "--edit-factor")
        stage_configs["edits"] = EditsConfig(edit=EditConfig(factor=factor))
        stage_configs["sketch"] = SketchConfig(
            method=sketch,
            weights=hed_weights,
            style=SketchStyle(clahe_clip=CLAHE_CLIP if clahe else None, width_jitter=stroke_jitter),
        )
        stage_configs["color"] = ColorConfig(
            route=color_route,
            background=color_background,
            smoothing=Smoothing(factor=color_factor),
        )
        stage_configs["hog"] = HogConfig(
            route=hog_route, orientations=hog_orientations, cell=hog_cell, channels=hog_channels
        )
        try:
            report = build(
                config, source, stage_configs, overwrite=overwrite, resume=resume, repair=repair
            )
        except BuildFailedError as exc:
            _summarise(exc.report)
            raise
        except KeyboardInterrupt:
            typer.secho(
                f"interrupted: finished shards in {out} are kept; run the same command again "
                "to build the rest",
                fg=typer.colors.YELLOW,
                err=True,
            )
            raise typer.Exit(130) from None
    _summarise(report)


def _summarise(report: BuildReport) -> None:
    out = Path(report.out)
    if report.changes:
        typer.echo(f"inputs changed since the last run: {report.changes} samples", err=True)
    removed = f", {report.shards_removed} removed" if report.shards_removed else ""
    typer.echo(
        f"{report.written} samples written to {out} ({report.shards_built} shards built, "
        f"{report.shards_skipped} already complete{removed}); {len(report.failures)} failed "
        f"of {report.attempted} in {report.seconds.get('total', 0.0):.1f} s"
    )
    for failure in report.failures[:5]:
        typer.echo(f"  failed {failure['key']} [{failure['stage']}]: {failure['error']}", err=True)
    if report.failures:
        typer.echo(f"  all failures: {out / 'failures.jsonl'}", err=True)


def _numbers(text: str, kind: type, count: int, flag: str) -> tuple:
    """``"1,2,3"`` → ``(1, 2, 3)``, exactly ``count`` numbers of type ``kind``."""
    try:
        values = tuple(kind(v) for v in split_list(text))
    except ValueError:
        values = ()
    if len(values) != count:
        raise typer.BadParameter(
            f"expected {count} comma-separated numbers, got {text!r}", param_hint=flag
        )
    return values
