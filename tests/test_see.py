"""Pictures and per-layer times: depth-map grids, videos, report and prune plots, the HTML report in a
real headless browser, host profiling and the op-profiler parser. Every picture is opened and its
content checked (pixels, artists, label boxes), not only its existence."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from android_bench.parse import parse_run_order
from mobiledepth.cli import app
from mobiledepth.data.photos import demo_photos
from mobiledepth.profiling.layers import module_of
from mobiledepth.records import LayerProfile, LayerTime
from mobiledepth.reporting.table import ReportRow
from mobiledepth.visual.labels import box_of

FIX = Path(__file__).parent / "fixtures" / "benchmark_model"
runner = CliRunner()
VIRIDIS_ZERO = (68, 1, 84)  # viridis(0): an all-zero difference panel is this colour throughout


def row(precision, fmt, ms, whdr, device="host", delegate="xnnpack", applied=True, size=10.0):
    return ReportRow(
        "mobiledepth-base",
        precision,
        2_604_681,
        size,
        whdr,
        device,
        delegate,
        2,
        ms,
        ms * 1.1,
        None if ms is None else 1000 / ms,
        format=fmt,
        sha256=f"{precision}{fmt}{device}{delegate}",
        low_ms=None if ms is None else ms * 0.95,
        high_ms=None if ms is None else ms * 1.1,
        delegate_applied=applied,
    )


def label_boxes(fig, labels):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [box_of(a, renderer) for a in labels]


def assert_disjoint(boxes):
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)


# --- report plot -------------------------------------------------------------------------------------

REPORT_ROWS = [
    row("fp32", "tflite", 10.68, 0.2443),
    row("fp16", "tflite", 10.71, 0.2443, size=5.2),
    row("fp32", "onnx", 10.75, 0.2443, delegate="onnxruntime-cpu"),
    row("int8", "tflite", 6.91, 0.2443, size=3.2),
    row("fp32", "pt", 44.3, 0.2443, delegate="pytorch-cpu"),
    row("fp16", "tflite", 31.0, 0.2436, device="S21 (SM-G991B)", delegate="gpu", applied=False, size=5.2),
    row("int8", "tflite", 12.0, None, device="S21 (SM-G991B)", delegate="cpu", size=3.2),
]


def test_report_figure_labels_never_overlap_and_nothing_vanishes():
    from mobiledepth.reporting.plot import build_report_figure

    result = build_report_figure(REPORT_ROWS, paper=True)
    fig = result.figure
    latency, size, paper = fig.axes[:3]
    # every timed row with WHDR is labelled once, on its own axes; the three near 10.7 ms stay apart
    assert len(result.labels["latency"]) == 6 and len(result.labels["paper"]) > 10
    for name in ("latency", "size", "paper"):
        assert_disjoint(label_boxes(fig, result.labels[name]))
    texts = [t.get_text() for t in result.labels["latency"]]
    assert "fp16 tflite gpu (ran on CPU)" in texts
    # host and phone: one Pareto front each, and the CPU-fallback point crossed in red
    fronts = [line.get_label() for line in latency.get_lines() if line.get_label().endswith("files)")]
    assert fronts == ["host: Pareto front (5 files)", "S21 (SM-G991B): Pareto front (1 files)"]
    from matplotlib.collections import PathCollection

    crosses = [
        c
        for c in latency.collections
        if isinstance(c, PathCollection)
        and c.get_offsets().shape[0]
        and tuple(np.round(c.get_facecolor()[0][:3], 2)) == (1.0, 0.0, 0.0)
    ]
    assert [tuple(c.get_offsets()[0]) for c in crosses] == [(31.0, 0.2436)]
    # the row without WHDR is listed, not dropped; our axes are not stretched by the paper's points
    assert result.footnote == "not plotted, no WHDR: mobiledepth-base int8 tflite (S21 (SM-G991B))"
    assert latency.get_xlim()[1] < 60 and latency.get_ylim()[0] > 0.2
    assert paper.get_xscale() == "log" and paper.get_ylim()[0] < 0.11


def test_report_figure_without_paper_has_two_panels(tmp_path):
    from mobiledepth.reporting.plot import build_report_figure, plot_report

    assert len(build_report_figure(REPORT_ROWS[:4], paper=False).figure.axes) == 2
    path = plot_report(REPORT_ROWS[:4], tmp_path / "r.png", paper=False)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 2 * im.height


# --- prune plot --------------------------------------------------------------------------------------


def history():
    from mobiledepth.records.pruning import MeasurerKey, PruneHistory, PruneIteration, PruneMember, PruneOptionsRecord

    its = tuple(
        PruneIteration(iteration=i, group="g", width_from=16, width_to=8, measured_ms=ms, predicted_ms=p, whdr=w,
                       params=n)
        for i, (ms, p, w, n) in enumerate(
            [(9.1, 9.0, 0.251, 2_400_000), (8.4, 8.6, 0.253, 2_200_000), (7.9, 7.7, 0.256, 2_000_000)], start=1
        )
    )  # fmt: skip
    return PruneHistory(
        checkpoint="m.pt", options=PruneOptionsRecord(target_ms=8.0), measurer=MeasurerKey("host", "cpu", "fp32",
        "256x256", "2"), base=PruneMember("b.pt", "b.tflite", 10.0, 0.250, 2_604_681), iterations=its,
        final=PruneMember("f.pt", "f.tflite", 7.9, 0.2555, 2_000_000), target_ms=8.0, status="reached",
    )  # fmt: skip


def test_prune_plot_shows_path_target_and_prediction(tmp_path):
    from mobiledepth.reporting.prune_plot import build_prune_figure, plot_prune

    fig, labels = build_prune_figure(history())
    ax_path, ax_pred, ax_par = fig.axes
    assert [t.get_text() for t in labels] == ["base", "1", "2", "3", "final"]
    assert_disjoint(label_boxes(fig, labels))
    target = [line for line in ax_path.get_lines() if line.get_linestyle() == "--"]
    assert list(target[0].get_xdata()) == [8.0, 8.0]
    pred, meas = [line for line in ax_pred.get_lines() if line.get_label() in ("predicted (latency model)", "measured")]
    assert list(pred.get_ydata()) == [9.0, 8.6, 7.7] and list(meas.get_ydata()) == [9.1, 8.4, 7.9]
    assert list(ax_par.get_lines()[0].get_ydata()) == pytest.approx([2.604681, 2.4, 2.2, 2.0])
    assert ax_path.get_title() == "NetAdapt path (reached)"
    with Image.open(plot_prune(history(), tmp_path / "prune.png")) as im:
        assert im.size[0] > 1000


# --- depth maps --------------------------------------------------------------------------------------


def test_demo_photos_are_real_local_photographs():
    photos = demo_photos()
    assert [p.name for p in photos] == ["coffee.png", "chelsea.png", "astronaut.png"]
    with Image.open(photos[0]) as im:
        assert im.size == (600, 400) and im.mode == "RGB"


def test_predict_grid_of_identical_models_has_an_all_zero_difference_panel(small_ckpt, tmp_path):
    from mobiledepth.api import predict
    from mobiledepth.visual.predict import PredictOptions

    twin = tmp_path / "twin.pt"
    shutil.copy(small_ckpt, twin)
    photo = demo_photos()[0]
    result = predict([small_ckpt, twin], [photo], tmp_path / "out", PredictOptions(size=(64, 96)))
    [diff] = result.differences
    assert (diff.image, diff.model, diff.reference) == ("coffee.png", "twin.pt", "small.pt")
    assert diff.mean_abs_percent == pytest.approx(0.0, abs=1e-4) and diff.p95_abs_percent == pytest.approx(
        0.0, abs=1e-4
    )
    with Image.open(result.pictures[0]) as im:
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    # the difference panel (about 260x173 px at this photo's aspect) is one flat viridis(0) block ...
    flat = int(np.all(pixels == VIRIDIS_ZERO, axis=1).sum())
    assert flat > 20_000
    # ... while the depth panels use many magma colours
    assert len(np.unique(pixels, axis=0)) > 500
    record = json.loads((tmp_path / "out" / "predict.json").read_text())
    assert record["record"] == "predict" and record["pictures"] == [str(tmp_path / "out" / "coffee_depth.png")]


def test_predict_cli_errors_are_one_line(small_ckpt, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("x")
    result = runner.invoke(app, ["predict", str(small_ckpt), "-i", str(bad), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith(f"error: {bad}: not an image (")


def test_predict_video_gives_frame_and_depth_side_by_side(small_ckpt, tmp_path):
    import imageio.v2 as imageio

    from mobiledepth.api import predict
    from mobiledepth.visual.predict import PredictOptions

    photo = np.asarray(Image.open(demo_photos()[0]).convert("RGB").resize((96, 64)))
    clip = tmp_path / "clip.mp4"
    with imageio.get_writer(str(clip), format="FFMPEG", fps=10, codec="libx264", macro_block_size=2) as w:
        for i in range(6):
            w.append_data(np.roll(photo, 4 * i, axis=1))
    result = predict([small_ckpt], [clip], tmp_path / "out", PredictOptions(size=(64, 96), max_frames=5))
    reader = imageio.get_reader(result.videos[0], format="FFMPEG")
    frames = [np.asarray(f) for f in reader]
    reader.close()
    assert len(frames) == 5 and frames[0].shape == (64, 192, 3)
    left, right = frames[0][:, :96].astype(int), frames[0][:, 96:].astype(int)
    assert np.abs(left[40:, :] - photo[40:, :]).mean() < 12  # the frame itself (below the text overlay)
    assert np.abs(right - left).mean() > 20  # the colourised depth, not a copy of the frame
    assert not list((tmp_path / "out").glob(".*"))  # no temp file left


# --- per-layer latency -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, module",
    [
        ("/encoder/features.2/conv/conv.0/conv.0.0/Conv", "encoder.features.2.conv.conv.0.conv.0.0"),
        ("/decoder/stages.2/upsample/Resize_output_0_nchwc", "decoder.stages.2.upsample"),
        ("model/encoder/features.1/Conv2D;model/other", "model.encoder.features.1"),
        ("[depth]:72", ""),
    ],
)
def test_module_of_node_names(name, module):
    assert module_of(name) == module


def test_run_order_parser_on_public_nnapi_output():
    rows = parse_run_order((FIX / "op_profiling_nnapi_deeplab.txt").read_text())
    assert [r.node_type for r in rows] == [
        "TfLiteNnapiDelegate",
        "AVERAGE_POOL_2D",
        "TfLiteNnapiDelegate",
        "RESIZE_BILINEAR",
        "TfLiteNnapiDelegate",
        "RESIZE_BILINEAR",
        "RESIZE_BILINEAR",
        "ARG_MAX",
    ]
    assert rows[0].name == "[MobilenetV2/expanded_conv_16/project/add_fold, aspp0/Relu]:71"
    assert sum(r.avg_ms for r in rows) == pytest.approx(52.063)
    assert rows[6].avg_ms == 22.369 and rows[6].percent == 42.965


def test_run_order_parser_skips_the_initialisation_table():
    rows = parse_run_order((FIX / "op_profiling.txt").read_text())
    assert [(r.node_type, r.avg_ms, r.percent, r.name) for r in rows] == [
        ("TfLiteXNNPackDelegate", 4.790, 94.101, "[depth]:72"),
        ("RESIZE_BILINEAR", 0.300, 5.899, "[depth1]:73"),
    ]


def test_host_profile_layers_add_up_and_name_modules(small_ckpt, tmp_path):
    from mobiledepth.profiling.host import ProfileOptions, profile_host

    # one intra-op thread: with two, ONNX Runtime's nodes wait for a second core between kernels, and when the
    # suite's other worker holds that core the gaps (not the layers) grow: coverage fell to 0.41 under load
    prof = profile_host(small_ckpt, ProfileOptions(runs=12, warmup_runs=3, size=(64, 96), threads=1))
    assert prof.runtime.startswith("onnxruntime") and len(prof.layers) > 40
    ranked = prof.ranked()
    assert ranked[-1].cumulative == pytest.approx(1.0) and ranked[0].ms >= ranked[-1].ms
    assert sum(r.share for r in ranked) == pytest.approx(1.0)
    assert 0.6 < prof.coverage <= 1.02  # per-node times cannot exceed the run they were measured in
    assert {"encoder", "decoder"} <= {m.split(".")[0] for m in prof.by_module(1)}
    from mobiledepth.codec import decode, encode

    assert decode(LayerProfile, json.loads(json.dumps(encode(prof)))).layer_sum_ms == pytest.approx(prof.layer_sum_ms)
    fused = [r for r in prof.layers if r.name.endswith("Clip_output_0_nchwc")]
    assert fused and all("clamp" not in r.module and r.op.endswith("+Clip") for r in fused)


def test_profile_cli_writes_json_and_chart(small_ckpt, tmp_path):
    result = runner.invoke(
        app,
        [
            "profile",
            str(small_ckpt),
            "--size",
            "64x96",
            "--runs",
            "5",
            "--top",
            "5",
            "--json",
            str(tmp_path / "p.json"),
            "--chart",
            str(tmp_path / "p.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    [prof] = json.loads((tmp_path / "p.json").read_text())
    assert prof["record"] == "profile" and prof["device"] == "host"
    with Image.open(tmp_path / "p.png") as im:
        assert im.size[1] > 400 and len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)) > 20
    bad = runner.invoke(app, ["profile", str(small_ckpt), "--chart", str(tmp_path / "p.jpg")])
    assert bad.exit_code == 1 and bad.output.strip() == f"error: {tmp_path / 'p.jpg'}: --chart writes a .png"


def test_profile_of_tflite_on_host_says_why_not(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    result = runner.invoke(app, ["profile", str(model)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: {model}: LiteRT's Python interpreter has no op profiler; profile the .onnx it "
        "was converted from on the host, or this file on a phone (--device)"
    )


# --- HTML report -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_report_html_is_self_contained_and_renders_in_chromium(small_ckpt, tmp_path):
    from mobiledepth.api import predict
    from mobiledepth.reporting.html import write_html
    from mobiledepth.visual.predict import PredictOptions

    predict([small_ckpt, small_ckpt], [demo_photos()[1]], tmp_path / "pred", PredictOptions(size=(64, 96)))
    from mobiledepth.records import load_records

    records = load_records([tmp_path / "pred" / "predict.json"])
    page = write_html(tmp_path / "report.html", REPORT_ROWS, records, paper=False)
    html = page.read_text()
    assert html.count("data:image/png;base64,") == 2  # the plot and the depth grid, inline
    assert 'src="http' not in html and "<link" not in html  # nothing fetched when a colleague opens it
    assert "chelsea_depth.png" in html and "mobiledepth-base" in html
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 300  # text, plots and magma maps, not a blank page
    assert (pixels.min(axis=1) < 200).mean() > 0.05


def test_report_html_wrong_suffix_is_one_line(tmp_path):
    rec = tmp_path / "bench.json"
    rec.write_text("[]")
    result = runner.invoke(app, ["report", str(rec), "--html", str(tmp_path / "x.txt")])
    assert (
        result.exit_code == 1 and result.output.strip() == f"error: {tmp_path / 'x.txt'}: --html writes an .html file"
    )


def test_report_html_shows_two_profiles_side_by_side(tmp_path):
    from mobiledepth.reporting.html import profile_section

    a = LayerProfile(
        model="a.onnx",
        device="host",
        runtime="onnxruntime",
        runs=10,
        end_to_end_ms=3.0,
        layers=(
            LayerTime("/encoder/x/Conv", "encoder.x", "Conv", 2.0),
            LayerTime("/decoder/y/Conv", "decoder.y", "Conv", 1.0),
        ),
    )
    b = LayerProfile(
        model="b.onnx",
        device="host",
        runtime="onnxruntime",
        runs=10,
        end_to_end_ms=2.0,
        layers=(
            LayerTime("/encoder/x/Conv", "encoder.x", "Conv", 1.0),
            LayerTime("/decoder/y/Conv", "decoder.y", "Conv", 1.0),
        ),
    )
    page = profile_section([a, b])
    assert "Per module: a.onnx vs b.onnx" in page
    assert "<td>encoder.x</td><td>2.000</td><td>1.000</td><td>0.50</td>" in page
