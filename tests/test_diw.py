import numpy as np
import pytest
from PIL import Image

from mobiledepth.data.diw import find_csv, read_diw_csv
from mobiledepth.errors import MobileDepthError


@pytest.fixture
def diw_root(tmp_path):
    (tmp_path / "imgs").mkdir()
    for name in ("a.thumb", "b.png"):
        Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(tmp_path / "imgs" / name, format="PNG")
    return tmp_path


def write(root, text):
    path = root / "DIW_test.csv"
    path.write_text(text)
    return path


def test_reads_real_format_one_based(diw_root):
    csv = write(diw_root, "./imgs/a.thumb\n1,1,4,6,>,6,4\n./imgs/b.png\n2,3,2,4,<,6,4\n./imgs/a.thumb\n3,2,1,5,=,6,4\n")
    entries = read_diw_csv(csv)
    assert [e.path.name for e in entries] == ["a.thumb", "b.png"]
    a = entries[0]
    assert (a.width, a.height) == (6, 4)
    p = a.pairs[0]
    assert (p.ya, p.xa, p.yb, p.xb, p.relation, p.line) == (0, 0, 3, 5, 1, 2)  # corners (1,1) and (H,W) -> 0-based
    assert entries[1].pairs[0].relation == -1
    assert a.pairs[1].relation == 0 and a.pairs[1].line == 6
    assert find_csv(diw_root) == csv


@pytest.mark.parametrize(
    "text, message",
    [
        ("./imgs/a.thumb\n1,1,4,6,>,6\n", r"DIW_test\.csv:2: expected 7 comma-separated fields"),
        (
            "./imgs/a.thumb\n1,1,4,6,>,6,4\n./imgs/missing.png\n1,1,2,2,<,6,4\n",
            r"DIW_test\.csv:3: image not found: .*missing\.png",
        ),
        ("./imgs/a.thumb\n1,1,5,6,>,6,4\n", r"DIW_test\.csv:2: y_B=5 is outside 1\.\.4 \(coordinates are 1-based\)"),
        ("./imgs/a.thumb\n0,1,4,6,>,6,4\n", r"DIW_test\.csv:2: y_A=0 is outside 1\.\.4"),
        ("./imgs/a.thumb\n1,1,4,6,?,6,4\n", r"DIW_test\.csv:2: ordinal must be one of > < =, got '\?'"),
        (
            "./imgs/a.thumb\n1,x,4,6,>,6,4\n",
            r"DIW_test\.csv:2: non-numeric or non-finite coordinate or size in .1,x,4,6,>,6,4.",
        ),
        ("./imgs/a.thumb\n1,1,4,6,>,6,4\n./imgs/b.png\n", r"DIW_test\.csv:3: image path without an annotation line"),
    ],
)
def test_bad_lines_name_the_line(diw_root, text, message):
    with pytest.raises(MobileDepthError, match=message):
        read_diw_csv(write(diw_root, text))
