"""Published reference points from the paper (Yucel et al.), drawn beside our own results.

Table 7: DIW WHDR and parameter counts; Table 8: average runtime in ms at 256x256 on phones.
"""

# (label, WHDR, parameters in millions)
TABLE7 = [
    ("Chen et al. (DIW)", 0.2214, 5.3),
    ("Chen et al. (NYU+DIW)", 0.1439, 5.3),
    ("Li (MegaDepth)", 0.2297, 5.3),
    ("Xian et al. (DIW)", 0.1498, 53.1),
    ("Xian et al. (RW+DIW)", 0.1137, 53.1),
    ("Ranftl et al.", 0.1246, 105.3),
    ("Ranftl et al. (small)", 0.1344, 21.3),
    ("Mertan et al. (DIW)", 0.1250, 53.1),
    ("Mertan et al. (RW+DIW)", 0.1101, 53.1),
    ("Chen et al. 2019", 0.1059, 53.1),
    ("paper baseline", 0.1316, 2.6),
    ("paper", 0.1156, 2.6),
    ("paper pruned v1", 0.1190, 1.9),
    ("paper pruned v2", 0.1196, 1.5),
    ("paper pruned v3", 0.1208, 1.0),
]

# (label, WHDR, {delegate: ms on Galaxy S21})
TABLE8_S21 = [
    ("paper", 0.1156, {"cpu": 54, "gpu": 27, "nnapi": 43}),
    ("paper pruned v1", 0.1190, {"cpu": 47, "gpu": 26, "nnapi": 25}),
    ("paper pruned v2", 0.1196, {"cpu": 43, "gpu": 25, "nnapi": 35}),
    ("paper pruned v3", 0.1208, {"cpu": 39, "gpu": 23, "nnapi": 33}),
]
