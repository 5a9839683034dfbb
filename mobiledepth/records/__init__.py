"""Result records (JSON) shared by bench, eval, convert, predict and profile, so ``report`` can join them.

Every record is a frozen dataclass (:mod:`.bench`, :mod:`.evaluation`, :mod:`.conversion`,
:mod:`.profiling`, :mod:`.prediction`) built from the parts in :mod:`.parts`, typed all the way down;
one codec (:mod:`.codec`) writes and reads them all. Every record has ``record`` (its kind), ``schema``,
``tool`` and ``created``; bench and eval records a ``model`` block keyed by the model file's sha256.
Files from older versions are migrated when read (:mod:`.migrations`); files from a newer version, or
not ours, are refused with one line.
"""

from .bench import BenchRecord, HostDetails
from .conversion import ConvertReport, FileReport
from .evaluation import DenseScores, EvalDataset, EvalRecord, PriorScore
from .parts import SCHEMA, Device, InputContract, Interval, Memory, ModelInfo, Paired, Record, host_device
from .prediction import MapDifference, PredictRecord
from .profiling import LayerProfile, LayerTime
from .pruning import PruneHistory, PruneIteration, PruneMember
from .store import KINDS, AnyRecord, load_records, read_record, write_record

__all__ = [
    "AnyRecord",
    "BenchRecord",
    "ConvertReport",
    "DenseScores",
    "Device",
    "EvalDataset",
    "EvalRecord",
    "FileReport",
    "HostDetails",
    "InputContract",
    "Interval",
    "KINDS",
    "LayerProfile",
    "LayerTime",
    "MapDifference",
    "Memory",
    "ModelInfo",
    "Paired",
    "PredictRecord",
    "PriorScore",
    "PruneHistory",
    "PruneIteration",
    "PruneMember",
    "Record",
    "SCHEMA",
    "host_device",
    "load_records",
    "read_record",
    "write_record",
]
